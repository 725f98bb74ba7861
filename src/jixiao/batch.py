"""Batch runs that never lose work: every finished document is committed as it finishes;
a re-run skips what is done (by content hash), redoes what is not, and retries failures
when asked. Documents stream through: memory does not grow with the batch.

A document is known by its path relative to the input it came from (a folder given:
`A/自评表.txt`; a file given: its name), so files of one name in different folders are
different documents. One run at a time writes to an output folder: a second waits for the
first (a bounded time, JIXIAO_LOCK_WAIT seconds) and then gives up with a clear message."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from .backends import Backend
from .errors import FileMissing, InputError, InputTooLarge
from .ingest import MAX_FILE_MB, SCAN_FACTOR, SCANS, check_input, iter_paths  # noqa: F401 (batch's public names)
from .pipeline import extract_paths
from .route import DEFAULT_THRESHOLD
from .schema import BatchSummary, DocumentResult
from .store import Store, content_hash, run_lock

LOCK_WAIT = 30.0  # seconds a run waits for another run on the same --out


def run_batch(inputs: list[str | Path], out: str | Path, backend: Backend | str | None = "rules",
              threshold: float = DEFAULT_THRESHOLD, retry_failed: bool = False, concurrency: int = 1,
              max_file_mb: float = MAX_FILE_MB,
              progress: Callable[[BatchSummary], None] | None = None,
              lock_wait: float | None = None) -> BatchSummary:
    """Extract every input into the store in `out`; see the module's docstring."""
    wait = float(os.environ.get("JIXIAO_LOCK_WAIT", LOCK_WAIT)) if lock_wait is None else lock_wait
    with run_lock(out, wait, lambda: print(
            f"{out}: 另一个 jixiao run 正在写入，等待最多 {wait:g} 秒… / another `jixiao run` is writing to this "
            f"output folder: waiting up to {wait:g} s …", file=sys.stderr, flush=True)):
        store = Store(out)
        summary = BatchSummary()
        queued: dict[Path, tuple[str, str]] = {}
        try:
            todo = _to_do(_documents(inputs), store, summary, queued, retry_failed, max_file_mb, progress)
            for result in extract_paths(todo, backend, threshold=threshold, concurrency=concurrency,
                                         max_file_mb=max_file_mb):
                _keep(result, store, summary, queued)
                if progress:
                    progress(summary)
        finally:
            store.close()
    return summary


def _documents(inputs: list[str | Path]) -> Iterator[tuple[Path, str]]:
    """Each input file with its identity: its path relative to the folder given, or the
    name of a file given itself."""
    for item in inputs:
        root = Path(item)
        if root.is_dir():
            for path in iter_paths([root]):
                yield path, path.relative_to(root).as_posix()
        else:
            yield root, root.name


def _to_do(documents: Iterator[tuple[Path, str]], store: Store, summary: BatchSummary,
           queued: dict[Path, tuple[str, str]], retry_failed: bool, max_file_mb: float, progress) -> Iterator[Path]:
    """The inputs that still need reading; the others are counted and reported."""
    seen: dict[str, Path] = {}
    for path, key in documents:
        summary.documents += 1
        if key in seen:
            if seen[key].resolve() == path.resolve():  # the same file named twice
                summary.skipped += 1
                continue
            summary.failed += 1
            summary.messages.append(
                f"{path}: 与 {seen[key]} 的相对路径同为 {key}，未读取；请给出它们共同的上级文件夹 / has the same relative "
                f"path {key} as {seen[key]} from another input: not read; give their common parent folder instead")
            continue
        seen[key] = path
        try:
            check_input(path, max_file_mb)
            digest = content_hash(path)
        except FileMissing:
            _failed(summary, store, f"missing:{path}", key, path, f"{path}: 文件不存在（可能在运行中被删除）/ file not found "
                                                           "(removed during the run?)")
            continue
        except InputTooLarge as exc:
            _failed(summary, store, f"too-large:{path}", key, path, str(exc))
            continue
        except InputError as exc:
            _failed(summary, store, f"unreadable:{path}", key, path, str(exc))
            continue
        except OSError as exc:
            _failed(summary, store, f"unreadable:{path}", key, path, f"{path}: 无法读取 / cannot be read ({exc.strerror})")
            continue
        status = store.status(digest, key, path)
        if status and (status[0] in ("done", "duplicate") or (status[0] in ("failed", "partial") and not retry_failed)):
            summary.skipped += 1
            if status[0] in ("failed", "partial"):
                summary.failed += 1
                summary.messages.append(f"{path}: 上次失败{'（部分表）' if status[0] == 'partial' else ''}，未重试（加 "
                                        f"--retry-failed）/ {'some forms ' if status[0] == 'partial' else ''}failed "
                                        "before; not retried (use --retry-failed)")
            continue
        twin = store.done_elsewhere(digest, key) or _scheduled(queued, digest)
        if twin:
            store.duplicate(digest, key, path, *twin)
            summary.duplicates += 1
            summary.messages.append(f"{path}: 与 {twin[1]} 内容相同，已跳过 / same content as {twin[1]}; skipped")
            continue
        queued[path] = (key, digest)
        if progress:
            progress(summary)
        yield path


def _scheduled(queued: dict[Path, tuple[str, str]], digest: str) -> tuple[None, str] | None:
    """The same content already queued in this run at another path."""
    return next(((None, key) for key, d in queued.values() if d == digest), None)


def _failed(summary: BatchSummary, store: Store, digest: str, key: str, path: Path, message: str) -> None:
    summary.failed += 1
    summary.messages.append(message)
    store.fail(digest, key, path, message)


def _keep(result: DocumentResult, store: Store, summary: BatchSummary, queued: dict[Path, tuple[str, str]]) -> None:
    path = Path(result.path)
    key, digest = queued.pop(path, None) or (path.name, f"missing:{path}")
    if not result.ok:
        _failed(summary, store, digest, key, path, result.error or "unknown error")
        return
    store.save(digest, key, path, result.record, result.text)
    summary.done += 1
    for form in result.record.forms:
        summary.forms += 1
        if form.error:
            summary.failed_forms += 1
            summary.messages.append(f"{path}: {form.error}")
        elif form.route and form.route.decision == "needs_review":
            summary.needs_review += 1
        else:
            summary.accepted += 1
        if any(n.field in ("total_score", "indicators") and n.code == "not_found" for n in form.notes) or \
                (form.kind == "self_evaluation" and form.total_score is None and not form.error):
            summary.messages.append(f"{path}: 第{(form.source.form_index if form.source else 0) + 1}张表没有总分行，"
                                    "可能在表格中间被截断 / form has no 总分 row: cut off mid-table?")
