"""Forms per second of the rules path over the seeds repeated: extraction alone
(ingest → segment → rules back-end, target ≥ 1,000 forms/s on one core), and the whole
`jixiao extract` path with the checks (validate → triage → confidence → route).

    python benchmarks/throughput.py [--forms 2000]"""

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
    forms_per_round = _run(texts, backend, checks=False)
    rounds = -(-args.forms // forms_per_round)
    print(f"forms per run: {forms_per_round * rounds} ({rounds} rounds of {len(texts)} documents)")
    for label, checks in (("extraction (ingest → segment → rules)", False),
                          ("with checks (+ validate → triage → confidence → route)", True)):
        start = time.perf_counter()
        forms = sum(_run(texts, backend, checks) for _ in range(rounds))
        elapsed = time.perf_counter() - start
        target = "  (target ≥ 1,000)" if not checks else ""
        print(f"{label}: {forms / elapsed:,.0f} forms/s on one core, {elapsed:.2f} s{target}")
    # Memory is traced on a separate round: tracemalloc slows the code it watches.
    tracemalloc.start()
    _run(texts, backend, True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak traced memory for one round: {peak / 2**20:.1f} MiB")


def _run(texts: list[tuple[str, str]], backend, checks: bool) -> int:
    return sum(len(extract_source(ingest_text(text, name), backend, checks=checks).forms) for name, text in texts)


if __name__ == "__main__":
    main()
