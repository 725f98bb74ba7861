"""Forms per second of the rules path over the seeds repeated: extraction alone
(ingest → segment → rules back-end, target ≥ 1,000 forms/s on one core), the whole
`jixiao extract` path with the checks (validate → triage → confidence → route), and the
whole process as a user runs it: `jixiao extract` (and `jixiao run`) on the seeds copied
100 times, with one worker and with one per CPU (target ≥ 1,000 forms/s whole process).

    python benchmarks/throughput.py [--forms 2000] [--copies 100] [--repeat 3] [--no-run] [--ray]

Whole-process figures are wall-clock times of a fresh `python -m jixiao` (start-up, imports
and writing the output included), repeated: the median, the spread (fastest–slowest) and
the CPU time of the process and its workers, with the forms per CPU second. The machine's
load when they ran is printed with them: other work on the machine slows them down. The runs
use compiled bytecode, as an installed package has (pip compiles it on install): a checkout
run with PYTHONDONTWRITEBYTECODE set would compile jixiao's sources again at every start."""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import pkgutil
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import jixiao
from jixiao.backends import get_backend
from jixiao.ingest import ingest_text
from jixiao.pipeline import extract_source
from jixiao.workers import default_workers

RAW = Path(__file__).resolve().parents[1] / "fixtures" / "raw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=2000, help="at least this many forms in-process (default 2000)")
    parser.add_argument("--copies", type=int, default=100, help="copies of the seeds for the whole-process runs")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each whole-process figure (default 3)")
    parser.add_argument("--no-run", action="store_true", help="skip the `jixiao run` figures (store writes)")
    parser.add_argument("--ray", action="store_true", help="also `jixiao run --engine ray` (a local Ray instance)")
    args = parser.parse_args()
    in_process(args.forms)
    with tempfile.TemporaryDirectory(prefix="jixiao-throughput-") as tmp:
        whole_process(Path(tmp), args.copies, args.repeat, not args.no_run, args.ray)


def in_process(wanted: int) -> None:
    texts = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(RAW.glob("*.txt"))]
    backend = get_backend("rules")
    forms_per_round = _run(texts, backend, checks=False)
    rounds = -(-wanted // forms_per_round)
    print(f"in one process: {forms_per_round * rounds} forms ({rounds} rounds of {len(texts)} documents)")
    # The seeds repeated hit jixiao's content-keyed caches (a cell's number, a label's level) on
    # every copy, which distinct documents would not: the same runs with the caches emptied
    # before each document bound what that flatters (an upper bound: real documents of one
    # template share labels and paths, so some of those hits are real).
    caches = _content_caches()
    for label, checks, emptied in (("extraction (ingest → segment → rules)", False, ()),
                                   ("with checks (+ validate → triage → confidence → route)", True, ()),
                                   ("extraction, caches emptied before each document", False, caches),
                                   ("with checks, caches emptied before each document", True, caches)):
        start = time.perf_counter()
        forms = sum(_run(texts, backend, checks, emptied) for _ in range(rounds))
        elapsed = time.perf_counter() - start
        target = "  (target ≥ 1,000)" if not checks and not emptied else ""
        print(f"  {label}: {forms / elapsed:,.0f} forms/s on one core, {elapsed:.2f} s{target}")
    # Memory is traced on a separate round: tracemalloc slows the code it watches.
    tracemalloc.start()
    _run(texts, backend, True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"  peak traced memory for one round: {peak / 2**20:.1f} MiB")


def _run(texts: list[tuple[str, str]], backend, checks: bool, emptied: list = ()) -> int:
    forms = 0
    for name, text in texts:
        for cache in emptied:
            cache.cache_clear()
        forms += len(extract_source(ingest_text(text, name), backend, checks=checks).forms)
    return forms


def _content_caches() -> list:
    """The functools caches of jixiao's reading and checking code (not the engines' or the
    LLM's, which the rules path does not use)."""
    skip = ("jixiao.ray_engine", "jixiao.__main__", "jixiao.ingest.ocr", "jixiao.backends.openai_compat",
            "jixiao.prompting", "jixiao.cost")
    modules = [importlib.import_module(m.name) for m in pkgutil.walk_packages(jixiao.__path__, "jixiao.")
               if not m.name.startswith(skip)]
    return [v for m in modules for v in vars(m).values()
            if isinstance(v, functools._lru_cache_wrapper) and v.__module__ == m.__name__]


def whole_process(tmp: Path, copies: int, repeat: int, with_run: bool, with_ray: bool) -> None:
    seeds = sorted(RAW.glob("*.txt"))
    same, distinct = tmp / "copies", tmp / "distinct"
    same.mkdir()
    distinct.mkdir()
    for k in range(copies):
        for seed in seeds:
            shutil.copy(seed, same / f"{k:03d}_{seed.name}")
            # `jixiao run` stores a copy as a duplicate: each of these is its own content.
            (distinct / f"{k:03d}_{seed.name}").write_text(seed.read_text(encoding="utf-8") + f"\n<!-- {k} -->\n",
                                                           encoding="utf-8")
    forms = 21 * copies
    counts = sorted({1, default_workers()})
    print(f"\nwhole process, {copies} copies of the seeds ({len(seeds) * copies} documents, {forms} forms); "
          f"{default_workers()} CPUs; load average before: {_load()}")
    for workers in counts:
        _figure(f"jixiao extract --workers {workers}", forms, repeat,
                lambda w=workers: ["extract", str(same), "-o", str(tmp / "out.jsonl"), "--workers", str(w)])
    if with_run:
        for workers in counts:
            def run_args(w=workers) -> list[str]:
                shutil.rmtree(tmp / "run", ignore_errors=True)  # every run starts from an empty store
                return ["run", str(distinct), "--out", str(tmp / "run"), "--workers", str(w)]
            _figure(f"jixiao run --workers {workers} (distinct copies)", forms, repeat, run_args)
    if with_ray:
        def ray_args() -> list[str]:
            shutil.rmtree(tmp / "run", ignore_errors=True)
            return ["run", str(distinct), "--out", str(tmp / "run"), "--engine", "ray",
                    "--workers", str(default_workers())]
        _figure(f"jixiao run --engine ray --workers {default_workers()} (a local Ray instance started and stopped "
                "by the run)", forms, repeat, ray_args)
    print(f"load average after: {_load()}")
    shutil.rmtree(_PYCACHE, ignore_errors=True)


def _figure(label: str, forms: int, repeat: int, args) -> None:
    walls, cpus = [], []
    env = _compiled()
    subprocess.run([sys.executable, "-m", "jixiao", *args()], env=env, capture_output=True)  # compiles, not timed
    for _ in range(repeat):
        command = [sys.executable, "-m", "jixiao", *args()]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed:\n{done.stderr}")
    median, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"  {label}: {forms / median:,.0f} forms/s (median of {repeat}: {median:.2f} s; spread "
          f"{min(walls):.2f}–{max(walls):.2f} s = {forms / max(walls):,.0f}–{forms / min(walls):,.0f} forms/s; "
          f"CPU {cpu:.2f} s = {forms / cpu:,.0f} forms per CPU second)")


_PYCACHE = tempfile.mkdtemp(prefix="jixiao-throughput-pyc-")


def _compiled() -> dict[str, str]:
    """The environment of the timed runs: bytecode written once (to a folder of its own, the
    checkout left as it is) and read after, as from an installed package."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return env


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


if __name__ == "__main__":
    main()
