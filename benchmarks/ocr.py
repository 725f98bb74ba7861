"""OCR speed and memory on this machine: seed forms printed as ruled A4 pages at 200 dpi
(evals/scanset.py), read by RapidOCR (the jixiao[ocr] extra) with jixiao's page handling
(straightening, rule finding, per-character boxes). Prints pages per second and the
process's peak memory.

    python benchmarks/ocr.py [--pages 6]"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from jixiao.ingest.ocr import available, engine, image_page

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=6)
    args = parser.parse_args()
    if not available():
        sys.exit("OCR needs the extra: pip install 'jixiao[ocr]'")
    printed = [p for seed in sorted((ROOT / "fixtures" / "raw").glob("*.txt")) for p in scanset.seed_pages(seed)]
    pages = [scanset.draw(printed[k % len(printed)]) for k in range(args.pages)]
    image_page(pages[0], "warm-up", engine())  # loads the models once
    start = time.perf_counter()
    chars = sum(len(image_page(page, f"page {k + 1}", engine()).chars) for k, page in enumerate(pages))
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"OCR: {len(pages)} A4 pages at {scanset.DPI} dpi ({chars:,} characters) in {elapsed:.1f} s = "
          f"{len(pages) / elapsed:.2f} pages/s; peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
