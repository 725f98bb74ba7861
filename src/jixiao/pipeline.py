"""Run one document or a batch: ingest → segment → extract. Per-file failures are isolated."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

from .backends import Backend, get_backend
from .errors import JixiaoError
from .extract import extract_form
from .ingest import ingest, ingest_text, iter_paths
from .confidence import score
from .route import DEFAULT_THRESHOLD, route
from .schema import DocumentRecord, DocumentResult, Form, SourceDoc
from .validate import validate
from .validate.triage import triage
from .segment import segment


def extract_source(doc: SourceDoc, backend: Backend | str = "rules",
                   threshold: float = DEFAULT_THRESHOLD, checks: bool = True) -> DocumentRecord:
    """The record of an ingested document: every form, in document order, validated,
    scored and routed (`checks=False` leaves the forms as the back-end read them)."""
    backend = get_backend(backend) if isinstance(backend, str) else backend
    forms = [extract_form(c, backend) for c in segment(doc)]
    if checks:
        forms = [check_form(form, doc.text, threshold) for form in forms]
    return DocumentRecord(document=doc.name, forms=forms)


def check_form(form: Form, source: str | None, threshold: float = DEFAULT_THRESHOLD) -> Form:
    """validate → triage → confidence → route, on one extracted form."""
    form.findings = triage(form, validate(form, source), source)
    return route(score(form, source), threshold)


def extract_document(path: str | Path, backend: Backend | str = "rules",
                     threshold: float = DEFAULT_THRESHOLD) -> DocumentRecord:
    """The record of one file. Raises a JixiaoError naming the file when it cannot be read."""
    return extract_source(ingest(path), backend, threshold)


def extract_text(text: str, name: str = "<text>", backend: Backend | str = "rules") -> DocumentRecord:
    """The record of a document given as a string (handy in a notebook)."""
    return extract_source(ingest_text(text, name=name), backend)


def extract_paths(inputs: list[str | Path], backend: Backend | str = "rules",
                  threshold: float = DEFAULT_THRESHOLD) -> Iterator[DocumentResult]:
    """One result per file, in order; a file that fails yields its error and the rest go on."""
    backend = get_backend(backend) if isinstance(backend, str) else backend
    for path in iter_paths(inputs):
        try:
            result = DocumentResult(path=str(path), record=extract_document(path, backend, threshold))
        except JixiaoError as exc:
            cause = exc.__cause__
            trace = "".join(traceback.format_exception(cause)) if cause else None
            result = DocumentResult(path=str(path), error=str(exc), traceback=trace)
        yield result
