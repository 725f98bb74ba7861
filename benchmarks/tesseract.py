"""Why RapidOCR: it and Tesseract read the same clean printed pages (evals/scanset.py's `image`
variant) through the same layout code, scored against the seeds' hand-labelled gold.

    python benchmarks/tesseract.py [--seeds 003,004]

Needs the jixiao[ocr] extra and Debian's tesseract-ocr with tesseract-ocr-chi-sim. Tesseract is
a comparison only, not a jixiao engine: it is handed to jixiao's OCR functions in RapidOCR's
call shape (README, "Scans"). Prints field accuracy and forms found per engine."""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jixiao.errors import InputError
from jixiao.eval_runs import load_gold
from jixiao.evaluate import evaluate
from jixiao.ingest import read_image
from jixiao.ingest.ocr import engine as rapidocr
from jixiao.pipeline import extract_source

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402

MISSING = "install tesseract-ocr and tesseract-ocr-chi-sim (apt-get install tesseract-ocr tesseract-ocr-chi-sim)"


def tesseract(image, use_cls: bool = False, return_word_box: bool = False, use_det: bool = True):
    """Tesseract (chi_sim, its default page segmentation) in RapidOCR's shape: runs of words on
    a line, each as (corners, text, confidence 0–1). A cell's crop read alone (`use_det=False`)
    is answered with nothing: Tesseract was compared on whole pages."""
    if not use_det:
        return [], None
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    done = subprocess.run(["tesseract", "stdin", "stdout", "-l", "chi_sim", "--psm", "3", "tsv"],
                          input=buffer.getvalue(), capture_output=True)
    if done.returncode != 0:
        raise InputError(f"tesseract: {done.stderr.decode('utf-8', 'replace').strip()[:300]} — {MISSING}")
    words = [w for w in csv.DictReader(io.StringIO(done.stdout.decode("utf-8")), delimiter="\t", quoting=csv.QUOTE_NONE)
             if w["level"] == "5" and (w["text"] or "").strip() and float(w["conf"]) >= 10]  # 0: noise it invented
    return [_box(run) for run in _runs(words)], None


def _runs(words: list[dict]) -> list[list[dict]]:
    """Words of one line close enough to be one run (Tesseract parts Chinese into loose words)."""
    runs: list[list[dict]] = []
    for w in words:
        last = runs[-1][-1] if runs else None
        key = (w["block_num"], w["par_num"], w["line_num"])
        if last and key == (last["block_num"], last["par_num"], last["line_num"]) and \
                int(w["left"]) - int(last["left"]) - int(last["width"]) < 0.8 * int(w["height"]):
            runs[-1].append(w)
        else:
            runs.append([w])
    return runs


def _box(run: list[dict]) -> tuple[list[list[int]], str, float]:
    left, top = min(int(w["left"]) for w in run), min(int(w["top"]) for w in run)
    right = max(int(w["left"]) + int(w["width"]) for w in run)
    bottom = max(int(w["top"]) + int(w["height"]) for w in run)
    text = "".join(w["text"].strip() for w in run)
    return [[left, top], [right, top], [right, bottom], [left, bottom]], text, min(float(w["conf"]) for w in run) / 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="003,004", help="seed numbers (default: 003,004)")
    args = parser.parse_args()
    if rapidocr() is None:
        sys.exit("RapidOCR needs the extra: pip install 'jixiao[ocr]'")
    if not shutil.which("tesseract"):
        sys.exit(f"Tesseract is not installed: {MISSING}")
    wanted = args.seeds.split(",")
    seeds = [s for s in scanset.RAW.glob("*.txt") if s.name[:3] in wanted]
    gold = [g for g in load_gold(scanset.GOLD) if g.document[:3] in wanted]
    with tempfile.TemporaryDirectory() as tmp:
        images = sorted(scanset.build(Path(tmp), sorted(seeds), ("image",))["image"].iterdir())
        print(f"{'engine':<10} {'fields':>8} {'forms':>6}")
        for name, engine in (("rapidocr", rapidocr()), ("tesseract", tesseract)):
            report = evaluate(gold, [extract_source(read_image(path, engine)) for path in images])
            print(f"{name:<10} {report.overall:>8.4f} {report.form_recall:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
