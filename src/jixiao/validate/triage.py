"""Triage of a failed rule: is the form itself wrong, or did the extraction misread it?

Each value a finding compared is looked up in the source text it was read from. All found
as printed: the form is inconsistent (flag it for the auditor; a re-read would only push a
reader to falsify printed numbers). One not found: that field is an extraction suspect."""

from __future__ import annotations

import re

from ..text import compact, parse_number
from ..dates import iso_dates_in
from ..schema import Finding, Form, row_cell
from .values import Values

_TABLE_RULE = re.compile(r"^\s*\|?[\s\-:|]+\|?\s*$", re.M)
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def triage(form: Form, findings: list[Finding], source: str | None, chunk: str | None = None) -> list[Finding]:
    """The findings with `triage` and `suspect_fields` set on every error and warning.
    `chunk`, the form's own text, stands in for spans a record does not carry."""
    values = Values(form, source, chunk)
    for f in findings:
        if f.severity == "info" or f.triage is not None:
            continue  # a rule that knows the reading is in doubt (swaps.py) has triaged it
        checks = {path: found_in_source(values, path) for path in f.values if _is_field(path)}
        suspects = [path for path, found in checks.items() if found is False]
        if suspects:
            f.triage, f.suspect_fields = "extraction_suspect", suspects
        elif checks and all(checks.values()):
            f.triage = "source_inconsistency"
        else:
            f.triage = "unverified"
    return findings


class PrintedText:
    """A source text with its numbers and its compacted form, each worked out once."""

    def __init__(self, text: str):
        self.text = text
        self._numbers: tuple[float, ...] | None = None
        self._number_set: frozenset[float] | None = None
        self._plain: str | None = None

    @property
    def numbers(self) -> tuple[float, ...]:
        if self._numbers is None:
            self._numbers = tuple(n for n in map(parse_number, _NUMBER.findall(self.text)) if n is not None)
        return self._numbers

    def has_number(self, value: float) -> bool:
        if self._number_set is None:
            self._number_set = frozenset(self.numbers)
        # A value read as printed parses to the same float; the scan is for the rare rest.
        return value in self._number_set or any(abs(n - value) <= 1e-9 * max(1, abs(value)) for n in self.numbers)

    @property
    def plain(self) -> str:
        if self._plain is None:
            # A text joined across a table break spans the pipes and rules between its pieces.
            self._plain = compact(_TABLE_RULE.sub("", self.text).replace("|", ""))
        return self._plain


def _own_text(values: Values, path: str) -> PrintedText | None:
    """The text a value was read from: its span, its row's span, else the form's text."""
    cache = values.own_texts
    cell = row_cell(path)
    key = ("row", cell[0]) if cell and path not in values.form.field_spans else path
    if key not in cache:
        text = values.printed(path) if values.source is not None else None
        if text is None and values.source is not None and cell:
            rows = values.form.indicators
            span = getattr(rows[cell[0]], "span", None) if cell[0] < len(rows) else None
            text = values.source[span.start:span.end] if span is not None else None
        if text is None:  # no span of its own: the form's whole text, worked out once
            if "chunk" not in cache:
                cache["chunk"] = PrintedText(values.chunk) if values.chunk is not None else None
            cache[key] = cache["chunk"]
        else:
            cache[key] = PrintedText(text)
    return cache[key]


def _is_field(path: str) -> bool:
    return "." in path or path in {"total_weight", "total_score", "grade", "project_name", "year", "amount_unit",
                                   "planned_start", "planned_end", "project_nature", "project_category"}


def found_in_source(values: Values, path: str, value: object = None) -> bool | None:
    """True if the value is printed in the text it came from, False if not, None if the
    record has no source (a hand-edited file) or the value is blank. `value`, when given,
    saves looking it up."""
    value = values.get(path) if value is None else value
    if value is None or path == "kind" or path.endswith((".level1", ".level2")):
        return None  # the kind is read off the title; a filled-down label is printed above its rows
    text = _own_text(values, path)
    if text is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text.has_number(value)
    if path in ("planned_start", "planned_end") and value in iso_dates_in(text.text):
        return True  # 2026-01-01 as the form printed it: 2026/1/1, 2026年1月1日
    return compact(str(value)) in text.plain
