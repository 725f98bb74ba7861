"""Forms per second of the rules path (ingest → segment → extract) over the seeds repeated.

    python benchmarks/throughput.py [--forms 2000]

Prints figures; the target is at least 1,000 forms/s on one core."""

from __future__ import annotations

import argparse
import time
import tracemalloc
from pathlib import Path

from jixiao.backends import get_backend
from jixiao.ingest import ingest_text
from jixiao.pipeline import extract_source

RAW = Path(__file__).resolve().parents[1] / "fixtures" / "raw"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=2000, help="at least this many forms (default 2000)")
    args = parser.parse_args()
    texts = [(p.name, p.read_text(encoding="utf-8")) for p in sorted(RAW.glob("*.txt"))]
    backend = get_backend("rules")
    forms_per_round = sum(len(extract_source(ingest_text(t, n), backend).forms) for n, t in texts)
    rounds = -(-args.forms // forms_per_round)
    start = time.perf_counter()
    forms = sum(_run(texts, backend) for _ in range(rounds))
    elapsed = time.perf_counter() - start
    # Memory is traced on a separate round: tracemalloc slows the code it watches.
    tracemalloc.start()
    _run(texts, backend)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"forms: {forms} ({rounds} rounds of {len(texts)} documents)")
    print(f"time: {elapsed:.2f} s")
    print(f"throughput: {forms / elapsed:,.0f} forms/s on one core (target ≥ 1,000)")
    print(f"peak traced memory for one round: {peak / 2**20:.1f} MiB")


def _run(texts: list[tuple[str, str]], backend) -> int:
    return sum(len(extract_source(ingest_text(text, name), backend).forms) for name, text in texts)


if __name__ == "__main__":
    main()
