"""Where on the page each field was read: for a PDF or a scan, the page and box of each
field's span, and the OCR reader's lowest confidence in its characters."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter

from .schema import FieldBox, Form, TextBox


def field_boxes(form: Form, boxes: list[TextBox]) -> dict[str, FieldBox]:
    """A box for every field (and indicator row) whose span meets the printed text: the
    page most of it is on, the box around its pieces there, their lowest confidence."""
    if not boxes:
        return {}
    starts = [b.start for b in boxes]
    out = {}
    for path, span in form.field_spans.items():
        first = max(0, bisect_left(starts, span.start) - 1)
        hits = [b for b in boxes[first:bisect_left(starts, span.end)] if b.start < span.end and b.end > span.start]
        if hits:
            out[path] = _around(hits)
    return out


def _around(hits: list[TextBox]) -> FieldBox:
    page = Counter(b.page for b in hits).most_common(1)[0][0]
    on_page = [b for b in hits if b.page == page]
    sure = [b.confidence for b in hits if b.confidence is not None]
    return FieldBox(page=page, unit=on_page[0].unit, left=min(b.left for b in on_page), top=min(b.top for b in on_page),
                    right=max(b.right for b in on_page), bottom=max(b.bottom for b in on_page),
                    confidence=min(sure) if sure else None)
