"""One extracted form checked: validate → triage → confidence → route.

Below the back-ends: the pipeline, the hybrid reader's grounding, a batch's re-check of a
stored form and the review app's re-check of an edited one all call it, and it imports
nothing of `backends/` (so none of them closes an import cycle through it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .confidence import score
from .errors import JixiaoError
from .provenance import field_boxes
from .redact import redact
from .route import DEFAULT_THRESHOLD, route
from .schema import CHECK_FAILED, Form, Note, TextBox
from .text import clipped
from .validate import validate
from .validate.triage import triage

T = TypeVar("T")
_DETAIL = 200  # characters of an exception's message kept: enough to say why, never a whole prompt
CHECKS = {"provenance": "页面位置", "validate": "校验", "confidence": "置信度", "grounding": "取值位置核对",
          "merge": "与规则读取比对", "rules": "规则读取"}


def check_form(form: Form, source: str | None, threshold: float = DEFAULT_THRESHOLD,
               boxes: list[TextBox] | None = None) -> Form:
    """validate → triage → confidence → route, on one extracted form; with the printed
    boxes of a PDF or a scan, each field's page, box and OCR confidence too. A check that
    fails on data it did not foresee is named on the form, which goes to review."""
    if boxes:
        form.field_boxes = guarded(form.notes, "provenance", lambda: field_boxes(form, boxes, source), form.field_boxes)
    form.findings = guarded(form.notes, "validate", lambda: triage(form, validate(form, source), source), [])
    return route(guarded(form.notes, "confidence", lambda: score(form, source), form), threshold)


def guarded(notes: list[Note], check: str, run: Callable[[], T], otherwise: T) -> T:
    """run(), or `otherwise` when it fails unexpectedly: then `notes` (the form's) gets a
    `check_failed` note saying which check and why, and the form is routed to review
    (route.py). A JixiaoError is a named outcome (a failed request, a spent budget): the
    caller's to handle."""
    try:
        return run()
    except JixiaoError:
        raise
    except Exception as exc:  # noqa: BLE001 - one check's fault must not lose the form or the batch
        note = check_failed(check, exc)
        if note not in notes:
            notes.append(note)
        return otherwise


def check_failed(check: str, exc: BaseException) -> Note:
    """The note of a check that failed: the check's name, the exception's type and its message
    (keys masked, cut short), in Chinese and English."""
    detail = clipped(" ".join(redact(str(exc)).split()), _DETAIL)
    return Note(field="form", code=CHECK_FAILED,
                message=f"“{CHECKS.get(check, check)}”检查出错，未能完成，请人工复核 / the {check} check failed "
                        f"({type(exc).__name__}: {detail}); it was not completed: review the form")
