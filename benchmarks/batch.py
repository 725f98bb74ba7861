"""`jixiao run` (rules back-end) over 200 and over 2,000 forms: forms per second and the
child process's peak memory. Memory should stay flat with batch size (target: the 2,000-form
peak within 1.5× of the 200-form peak).

    python benchmarks/batch.py"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _documents(folder: Path, forms: int) -> int:
    folder.mkdir(parents=True)
    seeds = sorted((ROOT / "fixtures" / "raw").glob("*.txt"))
    made = k = 0
    while made < forms:
        for seed in seeds:
            text = seed.read_text(encoding="utf-8") + f"\n<!-- copy {k} -->\n"  # distinct content: no duplicates
            (folder / f"{k:04d}_{seed.name}").write_text(text, encoding="utf-8")
        made += 21
        k += 1
    return made


def _run(forms: int) -> tuple[int, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        made = _documents(docs, forms)
        start = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "jixiao", "run", str(docs), "--out", str(Path(tmp) / "out")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit(f"jixiao run failed on {made} forms")
        return made, elapsed, usage.ru_maxrss / 1024  # KiB → MiB on Linux


def main() -> None:
    results = {}
    for forms in (200, 2000):
        made, elapsed, peak = _run(forms)
        results[forms] = peak
        print(f"{made} forms: {elapsed:.1f} s ({made / elapsed:,.0f} forms/s, start-up included), "
              f"peak memory {peak:.0f} MiB")
    print(f"peak memory 2,000 vs 200 forms: {results[2000] / results[200]:.2f}× (target ≤ 1.5×)")


if __name__ == "__main__":
    main()
