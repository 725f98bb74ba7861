"""Two figures read (or printed) in each other's cells: where the swap makes the form's arithmetic
hold exactly and the printed order does not, the findings are the reading's (extraction_suspect,
the form to review), not the form's own printed error."""

from conftest import RAW

from jixiao import extract_text
from jixiao.validate import validate
from jixiao.validate.triage import triage

from test_validate import se

SEED = (RAW / "002_0bebddbd16c8cbfb.txt").read_text(encoding="utf-8")


def _swap_finding(findings, a, b):
    return [f for f in findings if f.code == "SWAP" and f.fields == [a, b]]


def test_a_total_row_with_its_two_figures_swapped_goes_to_review():
    text = SEED.replace("| 总分 | | | | | 100.00 | 97.55 | |", "| 总分 | | | | | 97.55 | 100.00 | |", 1)
    assert text != SEED
    form = extract_text(text, "swapped.txt").forms[0]
    assert (form.total_weight, form.total_score) == (97.55, 100.0)  # read as printed
    assert form.route.decision == "needs_review"
    swap = _swap_finding(form.findings, "total_weight", "total_score")
    assert len(swap) == 1 and swap[0].triage == "extraction_suspect"
    assert swap[0].expected == {"total_weight": 100.0, "total_score": 97.55}
    zh, en = swap[0].message.split(" / ")
    assert "互换" in zh and "swapped" in en
    totals = [f for f in form.findings if f.code in ("SE-T1", "SE-T2") and f.severity != "info"]
    assert totals and all(f.triage == "extraction_suspect" for f in totals)
    assert any("SWAP" in reason for reason in form.route.reasons)
    # The same form as printed is accepted, with no such finding.
    clean = extract_text(SEED, "seed.txt").forms[0]
    assert clean.route.decision == "accepted" and not _swap_finding(clean.findings, "total_weight", "total_score")


def test_a_funds_row_with_budget_and_executed_swapped_is_suspect():
    form = se(funds={"total": {"initial_budget": 100.0, "annual_budget": 90.0, "executed": 100.0, "weight": 10.0,
                               "execution_rate": 90.0, "score": 9.0},
                     "current_year": {"initial_budget": 100.0, "annual_budget": 100.0, "executed": 90.0},
                     "carryover": {}, "other": {}})
    findings = triage(form, validate(form), None)
    swap = _swap_finding(findings, "funds.total.annual_budget", "funds.total.executed")
    assert len(swap) == 1 and swap[0].triage == "extraction_suspect"
    assert all(f.triage == "extraction_suspect" for f in findings if f.code == "SE-F1")


def test_an_indicator_row_with_weight_and_score_swapped_is_suspect():
    rows = se().indicators
    rows[0].weight, rows[0].score = 45.0, 50.0  # printed 50 / 45: the totals sum the right way round
    rows[0].deviation = "部分活动合并举办"
    form = se(indicators=[r.model_dump() for r in rows], total_score=94.0)
    swap = _swap_finding(triage(form, validate(form), None), "indicators[0].weight", "indicators[0].score")
    assert len(swap) == 1 and swap[0].values == {"indicators[0].weight": 45.0, "indicators[0].score": 50.0}


def test_a_declaration_with_its_annual_and_project_totals_swapped_is_suspect():
    from test_validate import td

    form = td(funds={"annual_total": 300.0, "annual_current_year": 100.0, "project_total": 100.0,
                     "project_fiscal": 200.0, "project_other": 100.0})
    assert _swap_finding(validate(form), "funds.annual_total", "funds.project_total")


def test_a_printed_error_a_swap_does_not_settle_stays_the_forms_own():
    # The totals disagree with their parts, but swapping them does not make them agree.
    form = se(total_weight=100.0, total_score=95.0)
    findings = triage(form, validate(form), None)
    assert not [f for f in findings if f.code == "SWAP"]
    assert all(f.triage != "extraction_suspect" for f in findings)
    # A row scored above its weight whose swap would break the totals is the form's own error.
    rows = se().indicators
    rows[0].score = 52.0
    form = se(indicators=[r.model_dump() for r in rows], total_score=101.0)
    assert not [f for f in validate(form) if f.code == "SWAP"]


def test_a_target_and_actual_swap_needs_the_comparator_in_the_actual():
    rows = se().indicators
    rows[0].target, rows[0].actual = "12(场)", "≥10(场)"  # read in each other's cells: scored 10/12 of 50
    form = se(indicators=[r.model_dump() for r in rows])
    assert _swap_finding(validate(form), "indicators[0].target", "indicators[0].actual")
    rows[0].target, rows[0].actual = "≥12(场)", "10(场)"  # printed so: a target missed with full marks
    form = se(indicators=[r.model_dump() for r in rows])
    assert not [f for f in validate(form) if f.code == "SWAP"]
