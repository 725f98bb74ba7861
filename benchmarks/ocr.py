"""OCR speed and memory on this machine: seed forms drawn into page images, read by RapidOCR
(the jixiao[ocr] extra). Prints pages per second and the process's peak memory.

    python benchmarks/ocr.py [--pages 6]"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from jixiao.ocr import available, image_text

ROOT = Path(__file__).resolve().parents[1]
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def _pages(count: int) -> list[Image.Image]:
    lines = (ROOT / "fixtures" / "raw" / "004_eec2255c4764dfed.txt").read_text(encoding="utf-8").split("\n")
    font = ImageFont.truetype(str(FONT), 22)
    pages = []
    for k in range(count):
        chunk = lines[(k * 27) % 200:(k * 27) % 200 + 27]
        image = Image.new("RGB", (2480, 3508), "white")  # A4 at 300 dpi
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(chunk):
            x = 40
            for cell in line.split("\t"):
                draw.text((x, 60 + 40 * i), cell[:60], font=font, fill="black")
                x += 22 * len(cell[:60]) + 50
        pages.append(image)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=6)
    args = parser.parse_args()
    if not available():
        sys.exit("OCR needs the extra: pip install 'jixiao[ocr]'")
    pages = _pages(args.pages)
    image_text(pages[0], "warm-up")  # loads the models once
    start = time.perf_counter()
    for k, page in enumerate(pages):
        image_text(page, f"page {k + 1}")
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"OCR: {len(pages)} A4 pages at 300 dpi in {elapsed:.1f} s = {len(pages) / elapsed:.2f} pages/s; "
          f"peak memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
