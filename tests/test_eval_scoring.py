"""The scorer on small hand-made gold/prediction pairs; each expected figure is worked out by hand."""

import copy

import pytest

from jixiao.evaluate import auroc, ece, evaluate, review_tradeoff
from jixiao.report import render_html
from jixiao.schema import DocumentRecord

ROWS = [("产出指标", "数量指标", "甲", "=1"), ("产出指标", "质量指标", "乙", "=2"), ("效益指标", "社会效益指标", "丙", "提升")]


def declaration(name="P", rows=ROWS, **extra):
    form = {"kind": "target_declaration", "year": 2024, "project_name": name, "project_nature": "其他经常性项目",
            "project_category": "特定目标类", "supervising_dept": "某办", "implementing_unit": "某中心",
            "planned_start": "2024-01-01", "planned_end": "2024-12-31", "amount_unit": "元",
            "funds": {"project_total": None, "project_fiscal": None, "project_other": None,
                      "annual_total": 100.0, "annual_current_year": 100.0, "annual_carryover": 0.0,
                      "annual_other": 0.0},
            "goal_overall": None, "goal_annual": "完成工作。",
            "indicators": [{"level1": a, "level2": b, "name": c, "target": d} for a, b, c, d in rows]}
    form.update(extra)
    return form


# 12 scalar fields + 7 funds fields = 19 per declaration, plus 4 per row.
SCALARS = 19


def doc(*forms):
    return DocumentRecord.model_validate({"document": "d.txt", "forms": list(forms)})


@pytest.mark.slow
def test_gold_against_itself_is_perfect():
    gold = doc(declaration())
    report = evaluate([gold], [copy.deepcopy(gold)])
    assert report.overall == 1.0 and report.fields_total == SCALARS + 12
    assert (report.form_precision, report.form_recall, report.row_precision, report.row_recall, report.row_f1) == \
        (1.0, 1.0, 1.0, 1.0, 1.0)
    assert report.misses == []


def test_a_missing_row_costs_only_its_own_fields():
    report = evaluate([doc(declaration())], [doc(declaration(rows=[ROWS[0], ROWS[2]]))])
    assert report.fields_total == SCALARS + 12 and report.fields_right == SCALARS + 8
    assert report.row_recall == pytest.approx(2 / 3) and report.row_precision == 1.0
    assert report.row_f1 == pytest.approx(0.8)
    assert {m.field for m in report.misses} == {f"indicators[1].{f}" for f in ("level1", "level2", "name", "target")}
    assert report.row_completeness == [{"document": "d.txt", "form": "P", "expected": 3, "found": 2}]


def test_an_extra_row_shifts_nothing_and_lowers_precision():
    extra = ("产出指标", "数量指标", "丁", "=9")
    report = evaluate([doc(declaration())], [doc(declaration(rows=[ROWS[0], extra, ROWS[1], ROWS[2]]))])
    assert report.overall == 1.0
    assert report.row_precision == pytest.approx(3 / 4) and report.row_recall == 1.0


def test_rows_in_another_order_still_pair_by_name():
    report = evaluate([doc(declaration())], [doc(declaration(rows=[ROWS[2], ROWS[0], ROWS[1]]))])
    assert report.overall == 1.0 and report.row_recall == 1.0


def test_a_row_shifted_under_the_wrong_label_costs_its_label_fields():
    shifted = [ROWS[0], ("产出指标", "数量指标", "乙", "=2"), ROWS[2]]
    report = evaluate([doc(declaration())], [doc(declaration(rows=shifted))])
    assert {m.field for m in report.misses} == {"indicators[1].level2"}
    assert report.row_recall == pytest.approx(2 / 3)  # a row is right only when every field is


def test_a_swapped_number_and_a_whitespace_difference():
    predicted = declaration(rows=[ROWS[0], ("产出 指标", "质量指标", " 乙 ", "= 2"), ROWS[2]])
    predicted["funds"] = dict(predicted["funds"], annual_total=0.0, annual_current_year=100.0, annual_carryover=100.0)
    report = evaluate([doc(declaration())], [doc(predicted)])
    assert {m.field for m in report.misses} == {"funds.annual_total", "funds.annual_carryover"}
    assert report.fields_right == report.fields_total - 2
    assert report.per_field["funds.annual_total"].accuracy == 0.0
    assert report.per_field["indicators.name"].accuracy == 1.0


def test_an_extra_predicted_form_lowers_form_precision_only():
    report = evaluate([doc(declaration())], [doc(declaration(), declaration(name="Q"))])
    assert report.form_recall == 1.0 and report.form_precision == 0.5
    assert report.overall == 1.0
    assert report.row_precision == 0.5  # the extra form's three rows are predicted, none right


def test_a_wrong_kind_pairs_by_name_but_scores_wrong():
    wrong = {"kind": "self_evaluation", "year": 2024, "project_name": "P", "indicators": []}
    report = evaluate([doc(declaration())], [doc(wrong)])
    assert report.form_recall == 1.0
    right = {m.field for m in report.misses}
    assert "kind" in right and "funds.annual_total" in right and "indicators[0].name" in right
    assert report.fields_right == 2  # year and project_name; null kind-specific fields do not count


def test_an_unpaired_gold_form_scores_all_wrong():
    report = evaluate([doc(declaration())], [doc(declaration(name="另一个项目"))])
    assert report.form_recall == 0.0 and report.form_precision == 0.0
    assert report.fields_right == 0


def test_auroc_by_hand():
    assert auroc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [False, False, True, True]) == 0.0
    assert auroc([0.5] * 4, [False, True, False, True]) == 0.5
    # right {0.9, 0.4}, wrong {0.5, 0.1}: pairs right>wrong: (0.9,0.5) (0.9,0.1) (0.4,0.1) = 3 of 4
    assert auroc([0.9, 0.4, 0.5, 0.1], [False, False, True, True]) == 0.75
    assert auroc([0.9, 0.8], [False, False]) is None


def test_ece_by_hand():
    # bin [0.9,1.0]: conf 0.95 x2, acc 1/2 → |0.5-0.95| = 0.45, weight 2/4;
    # bin [0.1,0.2): conf 0.15 x2, acc 0 → 0.15, weight 2/4  → ECE 0.3
    assert ece([0.95, 0.95, 0.15, 0.15], [True, False, False, False]) == pytest.approx(0.3)


def test_review_tradeoff_by_hand():
    conf = [0.1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.95]
    right = [False, True, True, True, True, True, True, False, True, True]
    points = {t.review_fraction: (t.reviewed, t.accepted_accuracy) for t in review_tradeoff(conf, right)}
    assert points[0.0] == (0, 0.8)
    assert points[0.1] == (1, pytest.approx(8 / 9))
    assert points[0.3] == (3, 1.0)  # the three lowest (0.1, 0.2, 0.3) hold both errors


def _with_confidence(forms_conf, wrong_names):
    gold, pred = [], []
    for i, conf in enumerate(forms_conf):
        name = f"P{i}"
        gold.append(declaration(name=name))
        p = declaration(name=name, confidence=conf)
        if name in wrong_names:
            p["goal_annual"] = "完全不同的目标文字，与标准答案无关。"
        pred.append(p)
    return evaluate([doc(*gold)], [doc(*pred)])


def test_confidence_that_ranks_errors_shows_as_such():
    report = _with_confidence([0.2, 0.9, 0.8, 0.3], {"P0", "P3"})
    assert report.confidence.form_auroc == 1.0


def test_confidence_that_does_not_rank_errors_is_near_half():
    report = _with_confidence([0.9] * 6, {"P0", "P3"})
    assert report.confidence.form_auroc == 0.5


def test_the_html_report_has_bars_a_curve_and_escapes_text():
    report = _with_confidence([0.2, 0.9, 0.8, 0.3], {"P0"})
    report.misses[0].predicted = "<script>alert(1)</script>"
    page = render_html(report)
    assert page.count('class="bar"') == len(report.per_field)
    assert "<svg" in page and "<polyline" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
