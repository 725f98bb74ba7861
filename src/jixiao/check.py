"""One extracted form checked: validate → triage → confidence → route.

Below the back-ends: the pipeline, the hybrid reader's grounding, a batch's re-check of a
stored form and the review app's re-check of an edited one all call it, and it imports
nothing of `backends/` (so none of them closes an import cycle through it)."""

from __future__ import annotations

from .confidence import score
from .provenance import field_boxes
from .route import DEFAULT_THRESHOLD, route
from .schema import Form, TextBox
from .validate import validate
from .validate.triage import triage


def check_form(form: Form, source: str | None, threshold: float = DEFAULT_THRESHOLD,
               boxes: list[TextBox] | None = None) -> Form:
    """validate → triage → confidence → route, on one extracted form; with the printed
    boxes of a PDF or a scan, each field's page, box and OCR confidence too."""
    if boxes:
        form.field_boxes = field_boxes(form, boxes)
    form.findings = triage(form, validate(form, source), source)
    return route(score(form, source), threshold)
