"""Documents read on Ray (`jixiao run INPUT --out DIR --engine ray [--ray-address ADDR]`):
beyond one machine, with the same records as a plain run.

The driver (this process) reads each file's bytes and sends them to a Ray actor, one actor
per worker CPU: an actor builds its back-end once (an OCR engine loaded once per actor, an
LLM client of its own, with its share of the run's limits as in workers.py), writes the
bytes to a private temporary file of the same name and reads it as one process would. So
workers need no shared disk, only jixiao installed (the driver's own copy of the package
is shipped with `--ray-address`). The results come back in input order, and the driver
alone writes the store, so a killed run resumes as a plain one does.

No address: a local Ray instance of `--workers` CPUs is started and stopped with the run
(or the instance this process already has is used). An actor that dies reading a file is
replaced; the file is tried once more in the new actor, and fails by name (WorkerDied) if
that one dies too."""

from __future__ import annotations

import os
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

from .backends import Backend, Recipe
from .errors import EngineUnavailable, JixiaoError, WorkerDied
from .ingest import check_input
from .schema import DocumentResult
from .workers import default_workers, shipped

INSTALL = "pip install 'jixiao[ray]'"
TRIES = 2  # a file whose actor dies is read once more in a fresh actor


def require_ray(local: bool = True):
    """The ray module, or EngineUnavailable saying how to install it. For a local instance,
    Ray is told to keep to the loopback address (its setting for a one-machine cluster):
    nothing of it listens on, or talks over, the machine's network."""
    if local and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise EngineUnavailable(f"--engine ray: 没有安装 Ray，请先安装：{INSTALL} / Ray is not installed: {INSTALL}") \
            from None
    return ray


def read_on_ray(read: Callable[..., Iterator[DocumentResult]], paths: list[Path], backend: Backend, threshold: float,
                concurrency: int, max_file_mb: float | None, workers: int, address: str | None,
                lines: bool) -> Iterator[DocumentResult]:
    """One result per file, in order, read on Ray actors (see the module's docstring), each
    calling `read` (pipeline.read_here) on its file."""
    ray = require_ray(local=address is None)
    started = _connect(ray, address, workers)
    try:
        actors = max(1, int(ray.cluster_resources().get("CPU", workers))) if address else max(1, workers)
        reader = ray.remote(num_cpus=1)(_Reader)
        recipe = shipped(backend, actors)
        per_actor = max(1, concurrency // actors)

        def actor():
            return reader.remote(read, recipe, threshold, per_actor, max_file_mb, lines)
    except BaseException:
        if started:
            ray.shutdown()
        raise
    return _results(ray, actor, actors, paths, max_file_mb, started)


def _connect(ray, address: str | None, workers: int) -> bool:
    """Joined the cluster at `address`, or started a local instance; True when this call started it."""
    if ray.is_initialized():
        return False
    try:
        if address:
            # The driver's own jixiao (this module's package) goes to the workers, so every node
            # reads with the same code.
            ray.init(address=address, runtime_env={"py_modules": [str(Path(__file__).parent)]},
                     logging_level="warning", log_to_driver=False)
        else:
            # "local": a new instance of the run's own, never a cluster `ray start` left on this machine.
            ray.init(address="local", num_cpus=max(1, workers or default_workers()), include_dashboard=False,
                     logging_level="warning", log_to_driver=False)
    except Exception as exc:  # Ray raises ConnectionError, AuthenticationError, ValueError, RuntimeError…
        raise EngineUnavailable(f"--engine ray: 无法连接 Ray {address or '本地实例'} / cannot reach Ray at "
                                f"{address or 'a local instance'} ({type(exc).__name__}: {exc}); a cluster is started "
                                "with `ray start --head`, and one with token authentication (Ray's default) is joined "
                                "with RAY_AUTH_MODE=token and its token") from None
    return True


def _results(ray, actor, count: int, paths: list[Path], max_file_mb: float | None,
             started: bool) -> Iterator[DocumentResult]:
    """The results in input order: each file to the next idle actor, at most two per actor
    read ahead (so no batch of scans is held in memory whole)."""
    from ray.exceptions import RayActorError

    idle = deque(actor() for _ in range(count))
    running: dict = {}  # ObjectRef → (position, actor, path, bytes, tries)
    waiting: deque = deque()  # (position, path, bytes, tries) for an idle actor
    ready: dict[int, DocumentResult] = {}
    shipments = enumerate(_shipment(path, max_file_mb) for path in paths)
    issued = given = 0
    more = True
    try:
        while True:
            while more and issued - given < 2 * count:
                item = next(shipments, None)
                if item is None:
                    more = False
                    break
                position, shipment = item
                if isinstance(shipment, DocumentResult):  # not readable here: failed as a plain run fails it
                    ready[position] = shipment
                else:
                    waiting.append((position, *shipment, 1))
                issued += 1
            while waiting and idle:
                position, path, data, tries = waiting.popleft()
                worker = idle.popleft()
                running[worker.read.remote(path, data)] = (position, worker, path, data, tries)
            while given in ready:
                yield ready.pop(given)
                given += 1
            if not more and given == issued:
                return
            if not running:
                continue
            (done,), _ = ray.wait(list(running), num_returns=1)
            position, worker, path, data, tries = running.pop(done)
            try:
                ready[position] = ray.get(done)
                idle.append(worker)
            except RayActorError:
                idle.append(actor())  # a fresh actor in the dead one's place
                if tries < TRIES:
                    waiting.appendleft((position, path, data, tries + 1))
                else:
                    ready[position] = DocumentResult(path=path, error=str(WorkerDied(
                        f"{path}: 读取此文件的 Ray 工作进程意外退出，此文件未读，其余照常 / the Ray worker reading this file "
                        "died (killed, out of memory, or a crash in a library it uses): this file was not read; the "
                        "rest of the batch goes on")))
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def _shipment(path: Path, max_file_mb: float | None) -> tuple[str, bytes] | DocumentResult:
    """(the path as given, the file's bytes), or the failure a plain run would record for it."""
    try:
        check_input(path, max_file_mb)
        return str(path), path.read_bytes()
    except JixiaoError as exc:
        return DocumentResult(path=str(path), error=str(exc))
    except OSError as exc:
        return DocumentResult(path=str(path), error=f"{path}: 无法读取 / cannot be read ({exc.strerror})")


class _Reader:
    """A Ray actor: reads files sent as bytes with a back-end it builds once."""

    def __init__(self, read: Callable[..., Iterator[DocumentResult]], backend: Backend | Recipe, threshold: float,
                 concurrency: int, max_file_mb: float | None, lines: bool):
        self.read_here = read
        # An actor has one CPU (num_cpus=1): its OCR engine runs on one thread, as a worker's
        # share does (workers.py), not one per core of the machine in every actor.
        os.environ.setdefault("JIXIAO_OCR_THREADS", "1")
        self.backend = backend.build() if isinstance(backend, Recipe) else backend
        self.threshold, self.concurrency, self.max_file_mb, self.lines = threshold, concurrency, max_file_mb, lines
        self.scratch = tempfile.TemporaryDirectory(prefix="jixiao-ray-")  # removed when the actor ends
        self.folder = Path(self.scratch.name)

    def read(self, path: str, data: bytes) -> DocumentResult:
        # The file under its own name in a private folder: its record names it as a plain run does.
        local = self.folder / Path(path).name
        local.write_bytes(data)
        try:
            (result,) = self.read_here([local], self.backend, self.threshold, self.concurrency, self.max_file_mb,
                                       self.lines)
        finally:
            local.unlink(missing_ok=True)
        # Messages name the file as the driver knows it, not the actor's copy.
        return result.model_copy(update={"path": path, "error": _named(result.error, local, path),
                                         "traceback": _named(result.traceback, local, path)})


def _named(text: str | None, local: Path, path: str) -> str | None:
    return text.replace(str(local), path) if text else text
