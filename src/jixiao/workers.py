"""Documents read in worker processes: every core busy, the results in input order, and one
writer (the caller: the JSON lines of `jixiao extract`, the store of `jixiao run`).

Files go to the workers in small batches (a few documents each, so that a worker's thread
pool can keep an LLM's requests in flight across documents). Each worker builds its own
back-end from the caller's recipe (an LLM client with its own connections, rate limiter and
cache handle; an OCR engine loaded once per worker) and reads its batch exactly as one
process would, so the results are the same whatever the number of workers.

An LLM back-end's limits are the run's: with N workers each gets 1/N of `--concurrency`
(rounded down; there are never more workers than that), of `--rpm`, `--tpm` and of
`--max-tokens-total` (`LLMSettings.share`).

An endpoint one worker finds down (LLMBackend's breaker) is down for every worker, and named
once (SharedBreaker). A file whose worker dies (killed, out of memory, a crash in a native library) is read again
alone in a fresh worker: a file that kills its worker again fails by name (WorkerDied), and
the batch goes on. A worker whose parent is gone (a killed run) stops by itself."""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from functools import partial
from pathlib import Path

from .backends import Backend, Recipe
from .backends.support import SharedBreaker, share_breaker
from .config import usable_cpus
from .errors import WorkerDied
from .schema import DocumentResult

BATCH_MAX = 8  # documents per batch at most: small enough to spread a batch of scans evenly


def default_workers() -> int:
    """The workers a run starts unless told: one per CPU this process may run on."""
    return usable_cpus()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Garbage collection tuned for reading many documents: the youngest generation collected
    every 50,000 allocations, not every 700 (the settings before are restored after). Reading a
    form makes thousands of short-lived objects and next to no reference cycles, yet the default
    collector rescanned them ever and again: about 8% of the CPU of `jixiao extract`."""
    before = gc.get_threshold()
    gc.set_threshold(*_FEWER)
    try:
        yield
    finally:
        gc.set_threshold(*before)


_FEWER = (50_000, 20, 20)


def shipped(backend: Backend, workers: int) -> Backend | Recipe:
    """What a worker is given to build its back-end: the recipe (with its share of an LLM's
    limits) where the back-end came from `get_backend`, else the back-end itself (pickled
    where a worker cannot inherit it)."""
    recipe = backend.recipe
    if recipe is None:
        return backend
    return replace(recipe, settings=recipe.settings.share(workers))


def workers_for(backend: Backend, workers: int, files: int) -> int:
    """How many workers to start: no more than the files, nor (for an LLM back-end) than the
    requests it may have in flight, so that each worker has at least one."""
    recipe = backend.recipe
    if recipe is not None and recipe.name != "rules":
        workers = min(workers, recipe.settings.concurrency)
    return max(1, min(workers, files))


def read_in_workers(read: Callable[..., Iterator[DocumentResult]], paths: list[Path], backend: Backend,
                    threshold: float, concurrency: int, max_file_mb: float | None, workers: int,
                    lines: bool) -> Iterator[DocumentResult]:
    """One result per file, in order, read in `workers` processes (see the module's docstring),
    each calling `read` (pipeline.read_here) on its batch."""
    size = max(1, min(BATCH_MAX, len(paths) // (workers * BATCH_MAX)))
    batches = [paths[i:i + size] for i in range(0, len(paths), size)]
    job = partial(_read_batch, read=read, threshold=threshold, concurrency=max(1, concurrency // workers),
                  max_file_mb=max_file_mb, lines=lines)
    pool = _Pool(workers, shipped(backend, workers))
    return pool.results(batches, job)


class _Pool:
    """A process pool that hands back each batch's results in order, and outlives a worker's death."""

    def __init__(self, workers: int, backend: Backend | Recipe):
        self.workers, self.backend = workers, backend
        self.executor = self._started()

    def _started(self) -> ProcessPoolExecutor:
        context = _context()
        # An LLM endpoint marked down by one worker is down for all, and named once.
        breaker = SharedBreaker(context) if isinstance(self.backend, Recipe) and self.backend.name != "rules" else None
        executor = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_start_worker,
                                       initargs=(self.backend, breaker, self.workers))
        # Forked now, while _context() knows what this process is running. What is already here
        # is frozen out of the workers' garbage collections first: scanning it would touch (and so
        # copy) every inherited page, and cost each worker a share of what the parent imported.
        gc.freeze()
        try:
            executor.submit(_ready)
        finally:
            gc.unfreeze()
        return executor

    def results(self, batches: list[list[Path]], job) -> Iterator[DocumentResult]:
        pending: deque[tuple[list[Path], Future]] = deque()
        finished = False
        try:
            for batch in batches:
                pending.append((batch, self._submitted(job, batch)))
                while len(pending) > 2 * self.workers:  # batches ahead: every worker has its next one
                    yield from self._take(pending, job)
            while pending:
                yield from self._take(pending, job)
            finished = True
        finally:
            if finished:
                self.executor.shutdown(wait=True)
            else:
                self._stop()  # Ctrl-C, or a consumer that stopped early: no batch is read for nothing

    def _take(self, pending: deque, job) -> list[DocumentResult]:
        batch, future = pending.popleft()
        try:
            return future.result()
        except BrokenProcessPool:
            # A worker died: which file killed it is found by reading each of this batch's
            # files alone; the batches after it go to the fresh pool as they were.
            self._restart()
            rest = [b for b, _ in pending]
            pending.clear()
            results = [self._alone(path, job) for path in batch]
            pending.extend((b, self._submitted(job, b)) for b in rest)
            return results

    def _submitted(self, job, batch: list[Path]) -> Future:
        try:
            return self.executor.submit(job, batch)
        except BrokenProcessPool as exc:
            # A worker died while batches were still going in: this batch waits as a failed
            # future, so _take restarts the pool and sends it again like any batch behind a death.
            failed: Future = Future()
            failed.set_exception(exc)
            return failed

    def _alone(self, path: Path, job) -> DocumentResult:
        try:
            return self.executor.submit(job, [path]).result()[0]
        except BrokenProcessPool:
            self._restart()
            return DocumentResult(path=str(path), error=str(WorkerDied(
                f"{path}: 读取此文件的工作进程意外退出（被终止、内存不足或库崩溃），此文件未读，其余照常 / the worker process "
                "reading this file ended without an answer (killed, out of memory, or a crash in a library it uses): "
                "this file was not read; the rest of the batch goes on")))

    def _restart(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.executor = self._started()

    def _stop(self) -> None:
        processes = list((getattr(self.executor, "_processes", None) or {}).values())
        self.executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a worker mid-scan would otherwise finish its page first
            process.terminate()


def _context():
    """Fork where it is safe (Linux, only this thread running: nothing half-locked is copied),
    so a worker starts in milliseconds with everything imported; else a fork server or spawn,
    which import jixiao afresh in a clean process."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["jixiao.pipeline", "jixiao.backends.rules"])
        return context
    return multiprocessing.get_context("spawn")


_here: dict[str, Backend] = {}


def _start_worker(backend: Backend | Recipe, breaker: SharedBreaker | None, workers: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the pool
    gc.set_threshold(*_FEWER)  # a worker reads documents until it ends (see fewer_collections)
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    share_breaker(breaker)
    # An OCR engine per worker, each with its share of the CPUs (ingest/ocr.py), unless set by hand.
    os.environ.setdefault("JIXIAO_OCR_THREADS", str(max(1, default_workers() // workers)))
    _here["backend"] = backend.build() if isinstance(backend, Recipe) else backend


def _exit_when_orphaned(parent: int) -> None:
    # A run killed with -9 leaves its workers waiting on a queue no one will write to again.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _ready() -> None:
    """Nothing: a first task, so that the workers start when the pool is made."""


def _read_batch(paths: list[Path], read: Callable[..., Iterator[DocumentResult]], threshold: float, concurrency: int,
                max_file_mb: float | None, lines: bool) -> list[DocumentResult]:
    return list(read(paths, _here["backend"], threshold, concurrency, max_file_mb, lines))
