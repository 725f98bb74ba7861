"""Chunks through a back-end into form records carrying their provenance."""

from __future__ import annotations

from .backends import Backend
from .errors import ExtractionFailed, JixiaoError
from .schema import Chunk, Form, FormSource


def extract_form(chunk: Chunk, backend: Backend) -> Form:
    """The record of one chunk, with its source (document, index, span) attached."""
    try:
        form = backend.extract(chunk)
    except JixiaoError:
        raise
    except Exception as exc:  # a back-end bug must name the form, not crash the batch
        raise ExtractionFailed(
            f"{chunk.document} 第{chunk.index + 1}张表：{backend.name} 后端提取失败 / form {chunk.index + 1}: "
            f"the {backend.name} back-end failed ({type(exc).__name__}: {exc})"
        ) from exc
    form.source = FormSource(document=chunk.document, form_index=chunk.index, span=chunk.span)
    form.notes += [note.model_copy() for note in chunk.notes]  # a form found without its title says so
    form.backend = form.backend or backend.name
    return form
