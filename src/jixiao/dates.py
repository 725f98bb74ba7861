"""Dates as FORMAT.md records them: ISO `YYYY-MM-DD` whatever the form prints."""

from __future__ import annotations

import datetime
import re
import unicodedata

# 2026-1-1, 2026/01/01, 2026.1.1, 2026年1月1日 (spaces allowed inside); a month-only date does not match.
_DATE = re.compile(r"(?<!\d)(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?(?!\d)")


def iso_date(text: str | None) -> str | None:
    """`2026/1/1`, `2026年1月1日`, `2026.01.01`, `2026-1-1` → `2026-01-01`. Anything else (a
    month-only `2026年1月`, a date that does not exist, a blank) is returned as given."""
    if text is None:
        return None
    clean = unicodedata.normalize("NFKC", text).strip()
    m = _DATE.fullmatch(clean)
    if not m:
        return text
    try:
        return datetime.date(*map(int, m.groups())).isoformat()
    except ValueError:  # 2026-02-30 is printed, not a date: keep it as printed
        return text


def iso_dates_in(text: str) -> set[str]:
    """Every full date printed in a text, as ISO: to check a normalised value against its source."""
    found = set()
    for m in _DATE.finditer(unicodedata.normalize("NFKC", text)):
        try:
            found.add(datetime.date(*map(int, m.groups())).isoformat())
        except ValueError:
            continue
    return found
