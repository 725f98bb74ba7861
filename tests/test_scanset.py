"""The scan test set end to end, through the CLI as a user runs it: every seed printed
(evals/scanset.py), each seed's pages given a different degradation so one pass covers them
all, read with `jixiao extract` and scored with `jixiao eval` against the seed gold. The
whole set, every seed in every variant, is `python evals/scanset.py OUT` (README, "Scans")."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import GOLD, ROOT, SEEDS

sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402

DEGRADED = {"001": "rotated", "002": "jpeg", "003": "blurred", "004": "image"}


def test_every_seed_scanned_and_degraded_reads_at_least_095(tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    for seed in SEEDS:
        pages = [scanset.degrade(scanset.draw(p), DEGRADED[seed.name[:3]]) for p in scanset.seed_pages(seed)]
        pages[0].save(scans / f"{seed.stem}.tif", save_all=True, append_images=pages[1:])
    out = tmp_path / "scans.jsonl"
    extract = subprocess.run([sys.executable, "-m", "jixiao", "extract", str(scans), "-o", str(out)],
                             capture_output=True, text=True)
    assert extract.returncode == 0, extract.stderr[-2000:]
    scored = subprocess.run([sys.executable, "-m", "jixiao", "eval", "score", "--gold", str(GOLD), "--json", str(out)],
                            capture_output=True, text=True, check=True)
    report = json.loads(scored.stdout)
    print(f"\nscans ({', '.join(f'{k} {v}' for k, v in DEGRADED.items())}): field accuracy {report['overall']:.4f}")
    assert report["form_recall"] == 1.0 and report["form_precision"] == 1.0
    assert report["overall"] >= 0.95
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    boxed = [f for r in records for f in r["forms"] if f["field_boxes"].get("project_name", {}).get("unit") == "px"]
    assert len(boxed) == 21  # every form's name keeps the page and box it was read from
