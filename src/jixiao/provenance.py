"""Where on the page each field was read: for a PDF or a scan, the page and box of each
field's span, and the OCR reader's lowest confidence in its characters."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter

from .ingest.ocr import OCR_SURE
from .schema import ROW_FIELDS, FieldBox, Form, Span, TextBox, row_cell, row_index
from .text import compact, parse_number
from .validate.common import is_num
from .validate.values import Values

_FIGURE = frozenset("0123456789.,-")
_QUOTES = frozenset('“”"')


def field_boxes(form: Form, boxes: list[TextBox], text: str | None = None) -> dict[str, FieldBox]:
    """A box for every field (and indicator row) whose span meets the printed text: the
    page most of it is on, the box around its pieces there, their lowest confidence. With
    the document's `text`, a number's confidence is that of its figures alone: a doubtful %
    or unit printed beside them is no doubt about the number."""
    if not boxes:
        return {}
    starts = [b.start for b in boxes]
    values = Values(form) if text is not None else None
    spans = dict(form.field_spans)
    if text is not None:
        spans |= _row_cells(form, text)
    out = {}
    for path, span in spans.items():
        first = max(0, bisect_left(starts, span.start) - 1)
        hits = [b for b in boxes[first:bisect_left(starts, span.end)] if b.start < span.end and b.end > span.start]
        if hits:
            number = values is not None and is_num(values.get(path))
            out[path] = _around(hits, span.start, span.end, text, number, _fields_within(spans, path))
    return out


def _fields_within(spans: dict[str, Span], path: str) -> list[tuple[int, int]]:
    """For an indicator row, the spans of its own fields: the row's doubt is that of the rest
    (its label cells), each field's own being counted for that field."""
    if row_index(path) is None or row_cell(path) is not None:  # a whole row's path only
        return []
    return [(s.start, s.end) for p, s in spans.items() if p.startswith(path + ".")]


def _row_cells(form: Form, text: str) -> dict[str, Span]:
    """Spans for an indicator row's fields that a reader gave none (one that reads a row of
    text gives the row's): the row's cells (tab-separated) printing the field's value. A value
    printed in several of its cells (0 target, 0 actual) takes them all: which is which is
    unknown, so each such field takes the doubt of every one."""
    out: dict[str, Span] = {}
    for i, row in enumerate(form.indicators):
        path = f"indicators[{i}]"
        span = form.field_spans.get(path)
        if span is None or span.end > len(text):
            continue
        cells = _cells(text, span.start, span.end)
        for field in ROW_FIELDS[form.kind]:
            value = getattr(row, field, None)
            if value is None or field in ("level1", "level2") or f"{path}.{field}" in form.field_spans:
                continue
            hits = [(a, b) for a, b in cells if _prints(text[a:b], value)]
            if hits:
                out[f"{path}.{field}"] = Span(start=hits[0][0], end=hits[-1][1])
    return out


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out, at = [], start
    for piece in text[start:end].split("\t"):
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            out.append((at + lead, at + len(piece.rstrip())))
        at += len(piece) + 1
    return out


def _prints(cell: str, value: object) -> bool:
    if is_num(value):
        return parse_number(cell) == value
    return compact(cell) == compact(str(value))


def _own_confidences(box: TextBox, start: int, end: int, text: str | None, number: bool,
                     others: list[tuple[int, int]]) -> list[float]:
    """The OCR confidences of the box's characters within start..end: the field's own, not
    those of the brackets or labels its run also holds, nor those within `others` (other
    fields' spans). With the document's `text`: a `number`'s figures only, and no quotation
    mark of a pair. A box without them: its lowest."""
    if box.confidences is None:
        return [] if box.confidence is None else [box.confidence]
    first = max(start, box.start)
    inside = box.confidences[first - box.start:max(0, end - box.start)]
    return [c for k, c in enumerate(inside, first)
            if c is not None and not any(a <= k < b for a, b in others)
            and (text is None or k >= len(text) or (text[k] in _FIGURE if number else not _paired_quote(text, k, start, end)))]


def _paired_quote(text: str, k: int, start: int, end: int) -> bool:
    """A quotation mark with its pair in the field: the reader's doubt is only of its shape
    (“ ” or "), which the OCR reading evens out (ocr._quotes), not of the value."""
    return text[k] in _QUOTES and sum(c in _QUOTES for c in text[start:end]) % 2 == 0


def _around(hits: list[TextBox], start: int, end: int, text: str | None, number: bool,
            others: list[tuple[int, int]]) -> FieldBox:
    page = Counter(b.page for b in hits).most_common(1)[0][0]
    on_page = [b for b in hits if b.page == page]
    sure = [c for b in hits for c in _own_confidences(b, start, end, text, number, others)]
    unsure = round(sum(c < OCR_SURE for c in sure) / len(sure), 4) if sure else None
    return FieldBox(page=page, unit=on_page[0].unit, left=min(b.left for b in on_page), top=min(b.top for b in on_page),
                    right=max(b.right for b in on_page), bottom=max(b.bottom for b in on_page),
                    confidence=min(sure) if sure else None, unsure=unsure)
