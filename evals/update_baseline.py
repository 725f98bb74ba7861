"""Write evals/baseline-rules.json: the rules back-end's current per-field scores on the fixtures.

    python evals/update_baseline.py

Run it after an improvement; tests/test_baseline.py fails when a field drops below it."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from jixiao.eval_runs import eval_run

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    with tempfile.TemporaryDirectory() as runs:
        _, report = eval_run(ROOT / "fixtures", "rules", runs)
    baseline = {"backend": "rules", "overall": report.overall,
                "per_field": {k: v.accuracy for k, v in report.per_field.items()}}
    path = ROOT / "evals" / "baseline-rules.json"
    path.write_text(json.dumps(baseline, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{path}: overall {report.overall:.4f}")


if __name__ == "__main__":
    main()
