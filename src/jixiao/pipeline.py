"""Run one document or a batch: ingest → segment → extract → validate → confidence → route.

A file that cannot be read fails alone; a form a back-end cannot read is kept as a failed
form with its reason; the rest goes on. Forms are read concurrently across documents when
asked, and results come back in input order."""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from pydantic import TypeAdapter

from .backends import Backend, get_backend
from .check import check_form
from .errors import ExtractionFailed, JixiaoError, UnexpectedError
from .extract import extract_form
from .ingest import MAX_FILE_MB, ingest, ingest_text, iter_paths
from .route import DEFAULT_THRESHOLD
from .schema import RECORD_BY_KIND, Chunk, DocumentRecord, DocumentResult, Form, FormSource, SourceDoc, Tally
from .segment import segment
from .workers import read_in_workers, workers_for

_LINE = TypeAdapter(DocumentRecord)


def _backend(backend: Backend | str | None) -> Backend:
    return backend if backend is not None and not isinstance(backend, str) else get_backend(backend)


def extract_source(doc: SourceDoc, backend: Backend | str | None = "rules",
                   threshold: float = DEFAULT_THRESHOLD, checks: bool = True) -> DocumentRecord:
    """The record of an ingested document: every form, in document order, validated,
    scored and routed (`checks=False` leaves the forms as the back-end read them)."""
    backend = _backend(backend)
    chunks = segment(doc)
    forms = [_read(chunk, backend) for chunk in chunks]
    if checks:
        forms = [check_form(form, doc.text, threshold, chunk.boxes) for form, chunk in zip(forms, chunks)]
    return DocumentRecord(document=doc.name, forms=forms)


def _read(chunk: Chunk, backend: Backend) -> Form:
    """The chunk's record, or a failed record of its kind that says why."""
    try:
        return extract_form(chunk, backend)
    except ExtractionFailed as exc:
        form = RECORD_BY_KIND[chunk.kind](error=str(exc), backend=backend.name, usage=exc.usage,
                                    notes=[note.model_copy() for note in chunk.notes],
                                    source=FormSource(document=chunk.document, form_index=chunk.index,
                                                      span=chunk.span))
        return form


def extract_document(path: str | Path, backend: Backend | str | None = "rules",
                     threshold: float = DEFAULT_THRESHOLD, max_file_mb: float | None = MAX_FILE_MB) -> DocumentRecord:
    """The record of one file. Raises a JixiaoError naming the file when it cannot be read
    (or is not a regular file, or is over `max_file_mb`: see `ingest.check_input`)."""
    return extract_source(ingest(path, max_file_mb), backend, threshold)


def extract_text(text: str, name: str = "<text>", backend: Backend | str | None = "rules") -> DocumentRecord:
    """The record of a document given as a string (handy in a notebook)."""
    return extract_source(ingest_text(text, name=name), backend)


class _Pending:
    """A document whose forms are being read."""

    def __init__(self, path: Path, doc: SourceDoc | None = None, futures: list[Future] | None = None,
                 error: JixiaoError | None = None):
        self.path, self.doc, self.futures, self.error = path, doc, futures or [], error


def extract_paths(inputs: list[str | Path], backend: Backend | str | None = "rules",
                  threshold: float = DEFAULT_THRESHOLD, concurrency: int = 1,
                  max_file_mb: float | None = MAX_FILE_MB, workers: int = 1, engine: str = "local",
                  address: str | None = None, lines: bool = False) -> Iterator[DocumentResult]:
    """One result per file, in order; a file that fails yields its error and the rest go on
    (a file over `max_file_mb`, or not a regular file, fails by name without being read).
    With `concurrency` > 1, forms are read at once across documents: half as many again as
    `concurrency` are worked on, so that while some are prepared or checked, `concurrency`
    are waiting on the model. (The LLM back-end's own `concurrency` setting caps its
    requests in flight.)

    With `workers` > 1 the files are read in that many worker processes (workers.py), or on
    Ray actors with `engine="ray"` (ray_engine.py; `address`: a cluster's, else a local Ray
    instance of `workers` CPUs); the results are the same, in the same order. With `lines`, each record comes as its JSON `line` and
    `tally` (made where it was read), not as a `record`."""
    paths, backend = iter_paths(inputs), _backend(backend)
    if engine == "ray":
        from .ray_engine import read_on_ray

        return read_on_ray(read_here, paths, backend, threshold, concurrency, max_file_mb, workers, address, lines)
    workers = workers_for(backend, workers, len(paths))
    if workers > 1:
        return read_in_workers(read_here, paths, backend, threshold, concurrency, max_file_mb, workers, lines)
    return read_here(paths, backend, threshold, concurrency, max_file_mb, lines)


def read_here(paths: list[Path], backend: Backend, threshold: float, concurrency: int, max_file_mb: float | None,
              lines: bool) -> Iterator[DocumentResult]:
    """One result per file, in order, read in this process: what a worker process or a Ray
    actor runs on its share of the files (they are handed this function, so that neither
    imports the pipeline that starts them)."""
    results = _read_here(paths, backend, threshold, concurrency, max_file_mb)
    return map(as_line, results) if lines else results


def as_line(result: DocumentResult) -> DocumentResult:
    """The result with its record as a JSON line and a tally (pydantic's own serializer,
    compact, Chinese as Chinese), ready to be written."""
    if not result.ok:
        return result
    return DocumentResult(path=result.path, line=_LINE.dump_json(result.record), tally=Tally.of(result.record))


def _read_here(paths: list[Path], backend: Backend, threshold: float, concurrency: int,
               max_file_mb: float | None) -> Iterator[DocumentResult]:
    """The files read in this process: forms on a thread pool where the back-end waits on a
    network (an LLM), else one after another (a thread pool would only hand the work around)."""
    if concurrency <= 1 or not backend.waits:
        for path in paths:
            yield _finish(_start(path, backend, None, threshold, max_file_mb))
        return
    window = max(2, concurrency * 2)  # documents read ahead: enough to keep the pool busy
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency + concurrency // 2))
    try:
        pending: deque[_Pending] = deque()
        for path in paths:
            pending.append(_start(path, backend, pool, threshold, max_file_mb))
            while len(pending) > window:
                yield _finish(pending.popleft())
        while pending:
            yield _finish(pending.popleft())
    finally:
        # On Ctrl-C (or a consumer that stops early) queued forms are dropped, not read and paid for.
        pool.shutdown(wait=False, cancel_futures=True)


def _start(path: Path, backend: Backend, pool: ThreadPoolExecutor | None, threshold: float,
           max_file_mb: float | None) -> _Pending:
    try:
        doc = ingest(path, max_file_mb)
        chunks = segment(doc)
    except JixiaoError as exc:
        return _Pending(path, error=exc)
    except Exception as exc:  # a fault of jixiao's own, or of a reader's library: this file fails alone
        return _Pending(path, error=unexpected(path, exc))
    # On a pool, each form is read and checked in a thread, so checking overlaps other forms' requests.
    submit = pool.submit if pool is not None else _done
    return _Pending(path, doc, [submit(_read_and_check, chunk, backend, doc.text, threshold) for chunk in chunks])


def _done(fn, *args) -> Future:
    """fn(*args) called now, as a finished future (its error kept for `_finish`, as a pool's would be)."""
    future: Future = Future()
    try:
        future.set_result(fn(*args))
    except Exception as exc:
        future.set_exception(exc)
    return future


def _read_and_check(chunk: Chunk, backend: Backend, source: str, threshold: float) -> Form:
    return check_form(_read(chunk, backend), source, threshold, chunk.boxes)


def _finish(item: _Pending) -> DocumentResult:
    if item.error is not None:
        return _failure(item.path, item.error)
    try:
        forms = [f.result() for f in item.futures]
    except JixiaoError as exc:
        return _failure(item.path, exc)
    except Exception as exc:
        return _failure(item.path, unexpected(item.path, exc))
    return DocumentResult(path=str(item.path), record=DocumentRecord(document=item.doc.name, forms=forms),
                          text=item.doc.text)


def _failure(path: Path, exc: JixiaoError) -> DocumentResult:
    cause = exc.__cause__
    trace = "".join(traceback.format_exception(cause)) if cause else None
    return DocumentResult(path=str(path), error=str(exc), traceback=trace)


def unexpected(path: Path | str, exc: BaseException) -> UnexpectedError:
    """A fault that is not one of jixiao's named errors, named for the file it stopped."""
    error = UnexpectedError(f"{path}: 读取时出现意外错误，此文件未读，其余照常 / unexpected error while reading this file "
                            f"({type(exc).__name__}: {exc}); the rest of the batch goes on (--debug shows the traceback; "
                            "please report it)")
    error.__cause__ = exc
    return error
