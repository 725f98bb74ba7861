"""`jixiao eval` end to end on the seed fixtures, and the baseline guard."""

import json
import shutil

import pytest

from conftest import GOLD, ROOT
from test_cli import run

from jixiao.eval_runs import eval_run


def _gold_as_predictions(tmp_path):
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps(json.loads(p.read_text(encoding="utf-8")), ensure_ascii=False) + "\n"
                            for p in sorted(GOLD.glob("*.json"))), encoding="utf-8")
    return path


@pytest.mark.slow
def test_gold_against_itself_is_perfect_everywhere(tmp_path):
    result = run("eval", "--gold", GOLD, _gold_as_predictions(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("overall", "form_recall", "form_precision", "row_precision", "row_recall", "row_f1"):
        assert report[key] == 1.0, key
    assert all(v["accuracy"] == 1.0 for v in report["per_field"].values())
    assert report["misses"] == []


@pytest.mark.slow
def test_eval_run_keeps_predictions_report_and_settings(tmp_path):
    result = run("eval", "run", ROOT / "fixtures", "--runs-dir", tmp_path / "runs", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("-rules")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["run"]["backend"] == "rules" and "prompt_version" in report["run"] and "model" in report["run"]
    assert (folder / "report.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    assert len((folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()) == 4
    # The same figure as scoring those predictions with `jixiao eval`.
    rescored = run("eval", "--gold", GOLD, folder / "predictions.jsonl", "--json")
    assert json.loads(rescored.stdout)["overall"] == report["overall"]


@pytest.mark.slow
def test_compare_lists_regressions_first(tmp_path):
    a = tmp_path / "a"
    shutil.copytree(ROOT / "fixtures", a)
    run_a, _ = eval_run(a, "rules", tmp_path / "runs")
    gold = a / "gold" / "001_ec90f154ecebac5e.json"
    data = json.loads(gold.read_text(encoding="utf-8"))
    data["forms"][0]["total_score"] = 12345.0  # the rules output can no longer match this field
    gold.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    run_b, _ = eval_run(a, "rules", tmp_path / "runs")
    result = run("eval", "compare", run_a, run_b)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert "total_score" in first and "REGRESSION" in first


@pytest.mark.slow
def test_unreadable_predictions_are_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"document": "x.txt", "forms": []}\nnot json\n', encoding="utf-8")
    result = run("eval", "--gold", GOLD, bad)
    assert result.returncode == 1
    assert "bad.jsonl line 2" in result.stderr


def test_no_field_drops_below_the_baseline(tmp_path):
    baseline = json.loads((ROOT / "evals" / "baseline-rules.json").read_text(encoding="utf-8"))
    _, report = eval_run(ROOT / "fixtures", "rules", tmp_path)
    drops = {field: (acc, report.per_field[field].accuracy if field in report.per_field else None)
             for field, acc in baseline["per_field"].items()
             if field not in report.per_field or report.per_field[field].accuracy < acc - 1e-9}
    assert not drops, f"fields below baseline (baseline, now): {drops}"
    assert report.overall >= baseline["overall"] - 1e-9


@pytest.mark.slow
def test_confidence_ranks_errors_on_the_fixtures_and_noisy_variants(tmp_path):
    _, report = eval_run(ROOT / "fixtures", "rules", tmp_path, noise=10)
    c = report.confidence
    print(f"\nAUROC forms {c.form_auroc:.3f} fields {c.field_auroc:.3f}; ECE forms {c.form_ece:.3f} "
          f"fields {c.field_ece:.3f}; forms {c.forms}, fields {c.fields}")
    # Forms: 0.853 when this bar was set at 0.85. Since then the reader places 党群综合服务's
    # mid-group labels right, so 3 of its 11 variants went from wrong-and-unsure to
    # right-and-unsure (its other guesses still send it to review): form AUROC 0.834, with no
    # error ranked worse; noting labels run into names won back 0.009. The bar follows.
    # Placing rows by the kind of their 二级 (kinds.py) then fixed 89 errors that were all
    # flagged (003 党建经费's 7 labels in its 11 variants, 001's placed rows in 2 variants), with
    # no error ranked higher and none new: forms 0.842 -> 0.826, fields 0.901 -> 0.830, because
    # what is left wrong is mostly what noise does unseen (a misread digit in a plain cell), while
    # the fixed rows stay reviewed (right but unsure). The bars follow that, not a worse ranking.
    # validate/doubts.py (values the form's own text contradicts lower their fields' confidence)
    # then ranked most of those noise errors below the right values: forms 0.826 -> 0.892,
    # fields 0.830 -> 0.889. The bars are raised to hold that gain.
    assert c.field_auroc >= 0.87 and c.form_auroc >= 0.87
    assert report.run["noisy_variants"] == 10
    accepted = {t.review_fraction: t.accepted_accuracy for t in c.tradeoff}
    assert accepted[0.3] > accepted[0.0]  # reviewing the least sure forms leaves a righter rest
