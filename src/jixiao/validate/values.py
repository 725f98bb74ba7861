"""What the validators need to know about a printed value: its decimals and its grammar."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..schema import Form, value_at
from ..text import HAN, nfkc

_NUM_TOKEN = re.compile(r"[+-]?\d[\d,]*(?:\.(\d+))?")
_OPS = {">=": "≥", "≧": "≥", "≥": "≥", "<=": "≤", "≦": "≤", "≤": "≤", "=": "=", "＝": "=", ">": ">", "<": "<"}
_VALUE = re.compile(
    r"^(?P<label>" + HAN + r"{2,4}?)?(?P<op>>=|<=|≥|≤|≧|≦|＝|=|>|<)?(?P<num>\d[\d,]*(?:\.\d+)?)"
    r"(?:\((?P<u1>[^()]*)\)|(?P<u2>%|[^\d()]+))?$")
MET_WORDS = frozenset({"达成指标", "达成年度指标", "达成", "完成", "已完成", "完成建设"})


@dataclass(frozen=True)
class Indicator:
    """A target or actual cell read by the §3 grammar."""

    text: str
    op: str | None = None
    number: float | None = None
    unit: str | None = None
    label: str | None = None

    @property
    def quantitative(self) -> bool:
        return self.number is not None


@lru_cache(maxsize=8192)
def parse_indicator(text: str | None) -> Indicator | None:
    """`≥46000.00(册)` → (≥, 46000, 册); `完成率100%` → (label 完成率, 100, %); `及时` → qualitative."""
    if text is None:
        return None
    clean = re.sub(r"\s+", "", nfkc(text))
    m = _VALUE.match(clean)
    if not m:
        return Indicator(text=clean)
    unit = m.group("u1") if m.group("u1") is not None else m.group("u2")
    op = m.group("op")
    return Indicator(text=clean, op=_OPS.get(op, op) if op else None, number=float(m.group("num").replace(",", "")),
                     unit=(unit or None), label=m.group("label"))


def printed_decimals(printed: str) -> int | None:
    """Decimals of the number in a printed token: `1,765.05` → 2, `48%` → 0."""
    m = _NUM_TOKEN.search(printed)
    if not m:
        return None
    return len(m.group(1)) if m.group(1) else 0


def repr_decimals(value: float) -> int:
    """Decimals a value shows when nothing printed is at hand (the loosest reading: 10.0 → 0)."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return 0
    frac = text.split(".")[1].rstrip("0")
    return len(frac)


class Values:
    """A form's values by FORMAT.md path, with the decimals each was printed with."""

    def __init__(self, form: Form, source: str | None = None, chunk: str | None = None):
        self.form, self.source = form, source
        self.own_texts: dict = {}  # the text each value was read from, worked out once (triage)
        # The form's own text, for records that carry no spans (gold, hand-edited files).
        self.chunk = chunk
        if chunk is None and source is not None and form.source is not None:
            self.chunk = source[form.source.span.start:form.source.span.end]

    def get(self, path: str):
        return value_at(self.form, path)

    def printed(self, path: str) -> str | None:
        span = self.form.field_spans.get(path) if self.form.field_spans else None
        if span is None or self.source is None or span.end > len(self.source):
            return None
        return self.source[span.start:span.end]

    def decimals(self, path: str, value: float | None = None) -> int:
        value = self.get(path) if value is None else value
        printed = self.printed(path)
        found = printed_decimals(printed) if printed else None
        return found if found is not None else repr_decimals(value or 0.0)

    def half_unit(self, path: str) -> float:
        """Half a unit in the last printed digit: the rounding a printed value may hide."""
        return 0.5 * 10 ** -self.decimals(path)
