"""A spreadsheet value as its cell displays it: the number format applied (`0.00%` shows 0.9151
as 91.51%, `#,##0.00` 1765.05 as 1,765.05, `0.00` 10 as 10.00, the accounting format's zero as
-), a date as its format shows it (ISO when the format is General or not understood).

Supported: sections (positive;negative;zero;text), literals ("…", \\x, _x, *x), colours and
locale tags ([Red], [$-804]), digit placeholders 0 # ?, thousands separators and scaling commas,
percent, `@`; date and time codes y m d h s and AM/PM. Fractions and scientific formats fall
back to General."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

_SECTION = re.compile(r'"[^"]*"|\\.|[^;"\\]+|;')
_BRACKET = re.compile(r"\[[^\]]*\]")
_DATE_CODES = re.compile(r'"[^"]*"|\\.|(y+|m+|d+|h+|s+|AM/PM|A/P)', re.I)
_NUMBER = re.compile(r"[0#?][0#?,]*(?:\.[0#?]*)?|\.[0#?]+")


def displayed(value, fmt: str | None) -> str:
    """The text a spreadsheet shows for `value` (a number, date, bool or text) under `fmt`."""
    fmt = fmt or "General"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _date(value, fmt)
    if isinstance(value, (int, float)):
        return _number(float(value), fmt)
    text = str(value)
    sections = _sections(fmt)
    if len(sections) >= 4 and "@" in sections[3]:
        return _literal(sections[3]).replace("@", text)
    return text


def is_date_format(fmt: str | None) -> bool:
    """Whether a number format shows a date or time (xlrd gives dates as numbers)."""
    if not fmt or fmt == "General":
        return False
    return any(m.group(1) for m in _DATE_CODES.finditer(_BRACKET.sub("", _sections(fmt)[0])))


def general(v: float) -> str:
    """A number as the General format shows it: up to 11 significant figures, no exponent for
    an ordinary amount."""
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    text = f"{v:.11g}"
    if "e" in text and 1e-9 < abs(v) < 1e15:
        text = f"{v:.11f}".rstrip("0").rstrip(".")
    return text


def _sections(fmt: str) -> list[str]:
    out, current = [], ""
    for token in _SECTION.findall(fmt):
        if token == ";":
            out.append(current)
            current = ""
        else:
            current += token
    return [*out, current]


def _number(v: float, fmt: str) -> str:
    sections = _sections(fmt)
    section, sign = sections[0], "-" if v < 0 else ""
    if v < 0 and len(sections) > 1 and sections[1].strip():
        section, sign = sections[1], ""
    elif v == 0 and len(sections) > 2 and sections[2].strip():
        section = sections[2]
    section = _BRACKET.sub("", section)
    body = _literal(section, keep_placeholders=True)
    if not body.strip():
        return sign + general(abs(v))
    if "general" in body.lower():
        return _unmask(re.sub("general", sign + general(abs(v)), body, flags=re.I)).strip()
    if "/" in body or re.search(r"E[+-]", body, re.I) or is_date_format(section):
        return sign + general(abs(v))
    match = _NUMBER.search(body)
    if match is None:  # a format of literals only
        return _unmask(body).strip()
    pattern = match.group(0)
    value = abs(v) * 100 ** body.count("%")
    integer, _, decimals = pattern.partition(".")
    scale = len(integer) - len(integer.rstrip(","))  # trailing commas: thousands
    value /= 1000**scale
    integer = integer.rstrip(",")
    places, least = len(decimals), decimals.count("0")
    rounded = Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    fraction = fraction[:places]
    while len(fraction) > least and fraction.endswith("0"):
        fraction = fraction[:-1]
    whole = whole.lstrip("0").rjust(integer.count("0"), "0")
    if "," in integer:
        whole = f"{int(whole or 0):,}" if whole else ""
    # `#` shows no digit for a zero whole part, `?` a space: the accounting format's zero is "-".
    number = whole + ("." + fraction if fraction else "")
    return _unmask(sign + body[:match.start()] + number + body[match.end():]).strip()


def _literal(section: str, keep_placeholders: bool = False) -> str:
    """A format section's literal text: quotes and escapes resolved, padding (_x) a space, fill
    (*x) dropped. With `keep_placeholders` a quoted or escaped character that would read as a
    placeholder (`"(%)"`) is masked (`_unmask` restores it), so it neither counts nor matches."""
    out = []
    for token in re.findall(r'"[^"]*"|\\.|_.|\*.|.', section):
        if token.startswith('"'):
            out.append(_mask(token[1:-1]) if keep_placeholders else token[1:-1])
        elif token.startswith("\\"):
            out.append(_mask(token[1]) if keep_placeholders else token[1])
        elif token.startswith("_"):
            out.append(" ")
        elif not token.startswith("*"):
            out.append(token)
    return "".join(out)


def _mask(text: str) -> str:
    return "".join(chr(0xF0000 + ord(c)) if c in "0#?.,%@" else c for c in text)


def _unmask(text: str) -> str:
    return re.sub("[\U000F0000-\U000F00FF]", lambda m: chr(ord(m.group(0)) - 0xF0000), text)


def _date(value, fmt: str) -> str:
    section = _BRACKET.sub("", _sections(fmt)[0])
    if not is_date_format(fmt):
        if isinstance(value, dt.datetime):
            return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
        return value.isoformat()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    elif isinstance(value, dt.time):
        value = dt.datetime.combine(dt.date(1900, 1, 1), value)
    twelve = bool(re.search(r"AM/PM|A/P", section, re.I))
    codes = [(m.start(), m.group(1)) for m in _DATE_CODES.finditer(section) if m.group(1)]
    out, last = [], 0
    for m in _DATE_CODES.finditer(section):
        out.append(_literal(section[last:m.start()]))
        last = m.end()
        if not m.group(1):
            out.append(_literal(m.group(0)))
            continue
        k = next(i for i, (start, _) in enumerate(codes) if start == m.start())
        # m is minutes right after an hour or right before a second, else the month.
        minute = k > 0 and codes[k - 1][1][0] in "hH" or k + 1 < len(codes) and codes[k + 1][1][0] in "sS"
        out.append(_date_code(value, m.group(1), minute, twelve))
    out.append(_literal(section[last:]))
    return "".join(out).strip()


def _date_code(value: dt.datetime, code: str, minute: bool, twelve: bool) -> str:
    lower = code.lower()
    if lower.startswith("y"):
        return str(value.year)[-2:] if len(code) <= 2 else str(value.year)
    if lower.startswith("d"):
        return {1: str(value.day), 2: f"{value.day:02d}", 3: value.strftime("%a")}.get(len(code), value.strftime("%A"))
    if lower.startswith("h"):
        hour = (value.hour % 12 or 12) if twelve else value.hour
        return f"{hour:02d}" if len(code) > 1 else str(hour)
    if lower.startswith("s"):
        return f"{value.second:02d}" if len(code) > 1 else str(value.second)
    if lower in ("am/pm", "a/p"):
        return ("AM" if value.hour < 12 else "PM") if lower == "am/pm" else ("A" if value.hour < 12 else "P")
    if minute:
        return f"{value.minute:02d}" if len(code) > 1 else str(value.minute)
    return {1: str(value.month), 2: f"{value.month:02d}", 3: value.strftime("%b")}.get(len(code), value.strftime("%B"))
