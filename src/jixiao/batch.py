"""Batch runs that never lose work: every finished document is committed as it finishes;
a re-run skips what is done (by content hash), redoes what is not, and retries failures
when asked. Documents stream through: memory does not grow with the batch.

A document is known by its path relative to the input it came from (a folder given:
`A/自评表.txt`; a file given: its name), so files of one name in different folders are
different documents. Only the same file (the same resolved path) supersedes an earlier
version: another file arriving with a relative path the store already holds for a live
document (folders read on separate runs, or two inputs of one run) is kept beside it under
its input root's name (`B/自评表.txt`), and the run says so. A copy of a document is stored
as a duplicate; when its original is superseded or fails, the copy is read in its place.
One run at a time writes to an output folder: a second waits for the first (a bounded time,
JIXIAO_LOCK_WAIT seconds) and then gives up with a clear message."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from collections.abc import Callable, Iterator
from pathlib import Path

from .backends import Backend
from .errors import ConfigError, FileMissing, InputError, InputTooLarge, JixiaoError
from .ingest import MAX_FILE_MB, SCAN_FACTOR, SCANS, check_input, ingest, iter_paths  # noqa: F401 (batch's public names)
from .check import check_form
from .pipeline import extract_paths
from .route import DEFAULT_THRESHOLD
from .schema import BatchSummary, DocumentResult, spent
from .segment import segment
from .store.layout import _where
from .store import Saved, Store, content_hash, run_lock

LOCK_WAIT = 30.0  # seconds a run waits for another run on the same --out


def run_batch(inputs: list[str | Path], out: str | Path, backend: Backend | str | None = "rules",
              threshold: float = DEFAULT_THRESHOLD, retry_failed: bool = False, concurrency: int = 1,
              max_file_mb: float = MAX_FILE_MB,
              progress: Callable[[BatchSummary], None] | None = None,
              lock_wait: float | None = None, workers: int = 1, engine: str = "local",
              address: str | None = None, batch_api: bool = False, batch_followup: str = "batch",
              batch_progress=None) -> BatchSummary:
    """Extract every input into the store in `out`; see the module's docstring. The files
    are read in `workers` processes (or on Ray with `engine="ray"`, `address` a cluster's);
    this process alone writes the store, in input order, so the store holds the same
    whatever reads them. With `batch_api`, the forms still to read are first sent to the
    provider as batch jobs (backends/batchjob.py: `batch_followup` "batch" or "live" for the
    follow-up round, `batch_progress(job, status, done, total)` while polling); the answers are
    then in this process, so the documents are read here (no workers, no Ray)."""
    if batch_api:
        backend = _batch_reader(backend)
    wait = _lock_wait() if lock_wait is None else lock_wait
    with run_lock(out, wait, lambda: print(
            f"{out}: 另一个 jixiao run 正在写入，等待最多 {wait:g} 秒… / another `jixiao run` is writing to this "
            f"output folder: waiting up to {wait:g} s …", file=sys.stderr, flush=True)):
        store = Store(out)
        summary = BatchSummary()
        run = _Run()

        def read(paths) -> None:
            for result in extract_paths(paths, backend, threshold=threshold, concurrency=concurrency,
                                         max_file_mb=max_file_mb, workers=workers, engine=engine, address=address):
                _keep(result, store, summary, run)
                if progress:
                    progress(summary)

        try:
            todo = _to_do(_documents(inputs), store, summary, run, retry_failed, max_file_mb, progress)
            if batch_api:
                todo, workers, engine = list(todo), 1, "local"
                _read_in_batch_jobs(todo, backend, store, summary, batch_followup, batch_progress, max_file_mb)
            read(todo)
            # Copies whose original this run superseded (or an earlier run left so): read now.
            again = _orphans(store, summary, run, max_file_mb)
            if again:
                read(again)
                store.orphaned_duplicates()  # copies of one content read once: pointed at it
        finally:
            store.close()
    return summary


def _read_in_batch_jobs(paths: list[Path], backend, store: Store, summary: BatchSummary, followup: str,
                        progress, max_file_mb: float) -> None:
    """The forms of `paths` read in provider batch jobs, their answers handed to the LLM
    back-end for the documents' reading that follows. A file that cannot be read is left to
    that reading, which reports it."""
    from .backends.batchjob import BatchReader

    def chunks():
        for path in paths:
            try:
                yield from segment(ingest(path, max_file_mb))
            except JixiaoError:
                continue

    reader = BatchReader(backend, store, followup, progress)
    reader.read(chunks())
    summary.messages.extend(reader.messages)


def _batch_reader(backend: Backend | str | None) -> Backend:
    """The back-end a batch-job run reads with: the LLM's (checked before anything is read)."""
    from .backends import get_backend
    from .backends.openai_compat import LLMBackend

    backend = get_backend(backend) if backend is None or isinstance(backend, str) else backend
    if not isinstance(backend, LLMBackend):
        raise ConfigError("--batch-api 需要 --backend llm / --batch-api needs --backend llm (a batch job reads every "
                          "form with the LLM)")
    return backend


def _lock_wait() -> float:
    raw = os.environ.get("JIXIAO_LOCK_WAIT")
    if raw is None:
        return LOCK_WAIT
    try:
        wait = float(raw)
    except ValueError:
        wait = math.nan
    if not math.isfinite(wait) or wait < 0:
        raise ConfigError(f"JIXIAO_LOCK_WAIT={raw!r}: 应为等待的秒数（不小于 0 的数）/ must be the seconds to wait for "
                          "another run (a number, 0 or more), e.g. JIXIAO_LOCK_WAIT=30")
    return wait


class _Run:
    """What this run has decided so far: the names it gave (name → resolved path), the files
    it queued, the files it has seen and the duplicates it skipped."""

    def __init__(self):
        self.taken: dict[str, str] = {}
        self.queued: dict[Path, tuple[str, str]] = {}
        self.given: dict[str, Path] = {}  # resolved path → the path as given
        self.skipped_copies: set[str] = set()


def _documents(inputs: list[str | Path]) -> Iterator[tuple[Path, str, str]]:
    """Each input file with its relative path (to the folder given, or the name of a file
    given itself) and the name of its input root (the folder given, or a file's folder)."""
    for item in inputs:
        root = Path(item)
        if root.is_dir():
            name = Path(_where(root)).name
            for path in iter_paths([root]):
                yield path, path.relative_to(root).as_posix(), name
        else:
            yield root, root.name, Path(_where(root)).parent.name


@dataclass
class _Verdict:
    """What to do with one input: `read` it, `skip` it (done, or the same file twice), store
    it as `failed` (it cannot be read: `message` says why) or as a `duplicate` of `twin`
    ((document id or None when queued in this run, its name))."""

    action: str
    key: str = ""
    digest: str = ""
    message: str = ""
    twin: tuple[int | None, str] | None = None


def _to_do(documents: Iterator[tuple[Path, str, str]], store: Store, summary: BatchSummary, run: _Run,
           retry_failed: bool, max_file_mb: float, progress) -> Iterator[Path]:
    """The inputs that still need reading; the others are counted, reported and, failed or
    copies, written to the store as such."""
    for path, relative, root_name in documents:
        summary.documents += 1
        verdict = _verdict(path, relative, root_name, store, summary, run, retry_failed, max_file_mb)
        if verdict.action == "failed":
            _failed(summary, store, verdict.digest, verdict.key, path, verdict.message)
        elif verdict.action == "duplicate":
            store.duplicate(verdict.digest, verdict.key, path, *verdict.twin)
            summary.duplicates += 1
            summary.messages.append(verdict.message)
        elif verdict.action == "read":
            run.queued[path] = (verdict.key, verdict.digest)
            if progress:
                progress(summary)
            yield path


def _verdict(path: Path, relative: str, root_name: str, store: Store, summary: BatchSummary, run: _Run,
             retry_failed: bool, max_file_mb: float) -> _Verdict:
    """What to do with this input, from what the store and this run hold (the store names it:
    Store.identity); a skip is counted and reported here."""
    where = _where(path)
    if where in run.given:  # the same file named twice
        summary.skipped += 1
        return _Verdict("skip")
    run.given[where] = path
    digest, problem = _hashed(path, max_file_mb)
    key, wanted = store.identity(relative, path, root_name, run.taken, digest)
    if wanted:
        summary.messages.append(
            f"{path}: 相对路径 {wanted} 已属于另一个文件，此文件记为 {key}，两者都保留 / the relative path {wanted} "
            f"already belongs to another file: this one is stored as {key}, and both are kept")
    if problem:
        return _Verdict("failed", key, problem[0], problem[1])
    status = store.status(digest, key, path)
    elsewhere = store.done_elsewhere(digest, key)
    orphaned = status and status[0] == "duplicate" and not elsewhere
    if status and not orphaned and (status[0] in ("done", "duplicate")
                                    or (status[0] in ("failed", "partial") and not retry_failed)):
        summary.skipped += 1
        if status[0] == "duplicate":
            run.skipped_copies.add(where)
        if status[0] in ("failed", "partial"):
            summary.failed += 1
            summary.messages.append(f"{path}: 上次失败{'（部分表）' if status[0] == 'partial' else ''}，未重试（加 "
                                    f"--retry-failed）/ {'some forms ' if status[0] == 'partial' else ''}failed "
                                    "before; not retried (use --retry-failed)")
        return _Verdict("skip", key, digest)
    if orphaned:
        summary.messages.append(_reread(path, key))
    twin = elsewhere or _scheduled(run.queued, digest)
    if twin:
        return _Verdict("duplicate", key, digest, f"{path}: 与 {twin[1]} 内容相同，已跳过 / same content as "
                        f"{twin[1]}; skipped", twin)
    return _Verdict("read", key, digest)


def _hashed(path: Path, max_file_mb: float) -> tuple[str | None, tuple[str, str] | None]:
    """The file's content hash, or (None, (the failure's key, its message)) when it cannot be read."""
    try:
        check_input(path, max_file_mb)
        return content_hash(path), None
    except FileMissing:
        return None, (f"missing:{path}", f"{path}: 文件不存在（可能在运行中被删除）/ file not found (removed during the run?)")
    except InputTooLarge as exc:
        return None, (f"too-large:{path}", str(exc))
    except InputError as exc:
        return None, (f"unreadable:{path}", str(exc))
    except OSError as exc:
        return None, (f"unreadable:{path}", f"{path}: 无法读取 / cannot be read ({exc.strerror})")


def _reread(path: Path | str, key: str) -> str:
    return (f"{path}: {key} 是副本，其原件已被新版本取代或读取失败，现重新读取 / {key} was stored as a copy of a document "
            "that has since been superseded by a new version (or failed): read again in its place")


def _orphans(store: Store, summary: BatchSummary, run: _Run, max_file_mb: float) -> list[Path]:
    """The copies left without a live original (one per content), to read now from where they
    were found, if they are still there unchanged; the others are named."""
    again, contents = [], set()
    for key, stored, where, digest in store.orphaned_duplicates():
        if digest in contents:
            continue  # read once; the others of that content are pointed at it afterwards
        path = run.given.get(where) if where else None
        path = path or Path(where or stored)
        if _hashed(path, max_file_mb)[0] != digest:
            summary.messages.append(
                f"{stored}: {key} 是副本，其原件已不在导出中，而此文件已不在原处或已改动；请重新运行它所在的文件夹 / {key} "
                "was stored as a copy of a document no longer in the export, and its own file is gone or changed: "
                "run its folder again")
            continue
        contents.add(digest)
        if where in run.skipped_copies:
            summary.skipped -= 1
        elif where not in run.given:
            summary.documents += 1
        summary.messages.append(_reread(path, key))
        run.queued[path] = (key, digest)
        again.append(path)
    return again


def _scheduled(queued: dict[Path, tuple[str, str]], digest: str) -> tuple[None, str] | None:
    """The same content already queued in this run at another path."""
    return next(((None, key) for key, d in queued.values() if d == digest), None)


def _failed(summary: BatchSummary, store: Store, digest: str, key: str, path: Path, message: str) -> None:
    summary.failed += 1
    summary.messages.append(message)
    store.fail(digest, key, path, message)


def _told(saved: Saved) -> list[str]:
    """What a save did with reviewers' work, in the run's summary (bilingual)."""
    lines = []
    if saved.carried:
        n = len(saved.carried)
        lines.append(f"{n} 张已复核的表来自旧版本，已保留复核结果，新读取结果待复核 / {n} reviewed forms came from the earlier "
                     "version: their reviewed records are kept, the new reading awaits review")
    if saved.kept:
        n = len(saved.kept)
        lines.append(f"{n} 张表与已复核的原件内容相同，复核结果照旧保留 / {n} forms have the identical content of reviewed "
                     "forms of the superseded original: their reviews stand as they were")
    if saved.strays:
        names = "; ".join(saved.strays)
        lines.append(f"文件改动后找不到对应的表：{names}；复核结果保留在复核队列中待处理，不导出 / reviewed forms with no "
                     f"counterpart in the changed file: {names}; kept in the review queue to settle, not exported")
    if saved.left:
        pages = ", ".join(f"/forms/{i}" for i in saved.left)
        lines.append(f"此版本的表有更新的复核结果；旧版本中较早的 {len(saved.left)} 个复核结果未带入，见 {pages} / this "
                     f"version's forms have newer reviews: {len(saved.left)} older reviews of the version it replaces "
                     f"were not carried (see {pages} in the review app)")
    return lines


def _keep(result: DocumentResult, store: Store, summary: BatchSummary, run: _Run) -> None:
    path = Path(result.path)
    key, digest = run.queued.pop(path, None) or (path.name, f"missing:{path}")
    if not result.ok:
        _failed(summary, store, digest, key, path, result.error or "unknown error")
        return
    text = result.text
    saved = store.save(digest, key, path, result.record, text, recheck=lambda form: check_form(form, text))
    carried = saved.carried
    summary.done += 1
    summary.usage = summary.usage.plus(spent(result.record))
    summary.messages.extend(f"{path}: {line}" for line in _told(saved))
    for form in result.record.forms:
        summary.forms += 1
        if form.source and form.source.form_index in carried and not form.error:
            summary.needs_review += 1  # the reviewed record, back in the queue
        elif form.error:
            summary.failed_forms += 1
            summary.messages.append(f"{path}: {form.error}")
        elif form.route and form.route.decision == "needs_review":
            summary.needs_review += 1
        else:
            summary.accepted += 1
        failed_checks = [n.message for n in form.failed_checks()]
        if failed_checks and not form.error:
            summary.failed_checks += 1
            summary.messages += [f"{path}: {form.project_name or '?'}: {message}" for message in failed_checks]
        if any(n.field in ("total_score", "indicators") and n.code == "not_found" for n in form.notes) or \
                (form.kind == "self_evaluation" and form.total_score is None and not form.error):
            summary.messages.append(f"{path}: 第{(form.source.form_index if form.source else 0) + 1}张表没有总分行，"
                                    "可能在表格中间被截断 / form has no 总分 row: cut off mid-table?")
