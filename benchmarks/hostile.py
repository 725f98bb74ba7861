"""Hostile inputs, timed: each built here in a temporary folder and read by `jixiao extract` in
its own process, whose elapsed time and peak memory (the child's own, from wait4) are printed
beside what jixiao said. (Inputs are built in a process of their own too: Linux counts the
parent's peak as a child's floor.) Small files with large costs should be refused by name in about the
time the CLI takes to start; a blank page should cost a note, not the form.

- baseline: a seed's .txt (the CLI's own start-up and one document)
- huge-page.pdf: one blank page 14400 × 14400 pt (the most PDF allows) in about 1 KB
- huge.png: a white 12000 × 12000 image (144 million pixels) in a few hundred KB
- big.txt: 50 MB of form text (the seeds over and over)
- fifo.txt: a named pipe that nobody writes to
- blank-page.tif: one printed form page (evals/scanset.py) and a white page after it
- blank-10.pdf, blank-300.pdf: 10 and 300 blank A4 pages (pypdfium2), no text layer: each a
  blank page found on a small rendering, never given to the OCR engine; memory the same for both
- white.png: a white 7000 × 7000 image (49 million pixels, just under the limit)

    python benchmarks/hostile.py [--cases huge-page.pdf,fifo.txt] [--timeout 600]"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = sorted((ROOT / "fixtures" / "raw").glob("*.txt"))


def _baseline(path: Path) -> None:
    path.write_bytes(SEEDS[1].read_bytes())


def _huge_page(path: Path) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(14400, 14400)
    pdf.save(str(path))
    pdf.close()


def _huge_png(path: Path) -> None:
    from PIL import Image

    Image.new("L", (12000, 12000), 255).save(path)


def _big_text(path: Path) -> None:
    text = "".join(seed.read_text(encoding="utf-8") for seed in SEEDS).encode("utf-8")
    with path.open("wb") as out:
        for _ in range(50 * 2**20 // len(text) + 1):
            out.write(text)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _blank_page(path: Path) -> None:
    from PIL import Image

    sys.path.insert(0, str(ROOT / "evals"))
    import scanset

    (first, *_) = scanset.seed_pages(SEEDS[3])
    page = scanset.draw(first)
    page.save(path, save_all=True, append_images=[Image.new("L", page.size, 255)])


def _blank_pages(count: int):
    def build(path: Path) -> None:
        import pypdfium2 as pdfium

        pdf = pdfium.PdfDocument.new()
        for _ in range(count):
            pdf.new_page(595, 842)
        pdf.save(str(path))
        pdf.close()
    return build


def _white_png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (7000, 7000), "white").save(path)


CASES = {"baseline.txt": _baseline, "huge-page.pdf": _huge_page, "huge.png": _huge_png, "big.txt": _big_text,
         "fifo.txt": _fifo, "blank-page.tif": _blank_page, "blank-10.pdf": _blank_pages(10),
         "blank-300.pdf": _blank_pages(300), "white.png": _white_png}


def run(path: Path, out: Path, timeout: float) -> tuple[int | None, float, float, str]:
    """`jixiao extract path -o out` in a child process: its exit status (None: killed at the
    timeout), seconds, peak resident MiB, and the last thing it said."""
    log = out.with_suffix(".stderr")
    with log.open("wb") as stderr:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "jixiao", "extract", str(path), "-o", str(out)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                                 env={**os.environ, "COLUMNS": "400"})
        status: int | None = None
        while True:
            pid, wait_status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(wait_status)
                break
            if time.perf_counter() - start > timeout:
                child.kill()
                _, _, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
    child.returncode = -9 if status is None else status  # reaped here, not by Popen
    lines = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    said = next((line for line in lines if "/" in line and not line.startswith("documents ")), lines[-1] if lines else "")
    if out.is_file() and out.stat().st_size:
        said = f"{said.split('  (')[0]} | {out.stat().st_size / 2**20:.1f} MB written{_notes(out)}"
    return status, elapsed, usage.ru_maxrss / 1024, said


def _notes(out: Path) -> str:
    """The blank-page notes in what was written."""
    forms = [f for line in out.open(encoding="utf-8") for f in json.loads(line)["forms"]]
    blank = {n["message"].split(" / ")[-1] for f in forms for n in f["notes"] if n["code"] == "blank_page"}
    return f"; note: {', '.join(sorted(blank))}" if blank else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before a case is killed")
    parser.add_argument("--build", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        CASES[args.build[0]](Path(args.build[1]))
        return
    with tempfile.TemporaryDirectory(prefix="jixiao-hostile-") as folder:
        print(f"{'input':<15} {'size':>9} {'exit':>5} {'seconds':>8} {'peak MiB':>9}  jixiao said")
        for name in args.cases.split(","):
            path = Path(folder) / name
            subprocess.run([sys.executable, __file__, "--build", name, str(path)], check=True)
            size = "fifo" if name == "fifo.txt" else f"{path.stat().st_size / 1024:,.0f} KB"
            status, elapsed, peak, said = run(path, Path(folder) / f"{name}.jsonl", args.timeout)
            shown = "killed" if status is None else str(status)
            print(f"{name:<15} {size:>9} {shown:>5} {elapsed:>8.1f} {peak:>9.0f}  {said.replace(folder + '/', '')[:200]}",
                  flush=True)


if __name__ == "__main__":
    main()
