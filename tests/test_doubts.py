"""Values found as printed that the form's own text contradicts (validate/doubts.py): the text
may hold another program's misread, so the fields taking part lose confidence and the form goes
to review; the template's good values raise no doubt."""

from conftest import RAW

from jixiao import extract_text
from jixiao.check import check_form

from test_validate import se, td

SEED = (RAW / "002_0bebddbd16c8cbfb.txt").read_text(encoding="utf-8")


def checked(form):
    return check_form(form, None)


def reviewed_for(form, *paths):
    """The form checked; asserts it goes to review with each path below the threshold."""
    form = checked(form)
    assert form.route.decision == "needs_review"
    for path in paths:
        assert form.extraction_confidence[path] < form.route.threshold, path
        assert form.field_confidence[path] < form.route.threshold, path
    return form


def test_the_templates_consistent_forms_raise_no_doubt():
    for form in (se(), td()):
        form = checked(form)
        assert form.route.decision == "accepted", form.route.reasons
        assert not any("may be misread" in r or "different execution rates" in r for r in form.confidence_reasons)


def test_a_total_that_is_not_its_parts_sum_puts_them_in_doubt_though_printed():
    # A text whose row weight another extractor misread (5.00 printed 8.00): every figure is in
    # the text, so the finding is the form's own (source_inconsistency), yet the form is reviewed.
    row = "| | | 场馆运行平稳情况 | 运行平稳 | 达成指标 | 5.00 | 5.00 | |"
    assert row in SEED
    form = extract_text(SEED.replace(row, row.replace("| 5.00 | 5.00 |", "| 8.00 | 5.00 |"), 1), "x.txt").forms[0]
    t1 = [f for f in form.findings if f.code == "SE-T1" and f.severity != "info"]
    assert t1 and all(f.triage == "source_inconsistency" for f in t1)
    assert form.route.decision == "needs_review"
    assert form.extraction_confidence["total_weight"] < 0.8
    assert any("可能误读" in r and "may be misread" in r for r in form.confidence_reasons)
    assert extract_text(SEED, "seed.txt").forms[0].route.decision == "accepted"


def test_a_score_above_its_weight_and_funds_that_do_not_add_up_are_doubted():
    form = se()
    form.indicators[1].score = 45.0  # 40 printed 45: above the row's weight
    form.total_score = 104.0  # the 总分 agrees with the misread score: only the cap catches it
    reviewed_for(form, "indicators[1].score", "indicators[1].weight")
    form = se()
    form.funds.current_year.executed = 80.0  # the rows no longer make the 年度资金总额's 90
    reviewed_for(form, "funds.total.executed", "funds.current_year.executed")
    reviewed_for(td(funds={"annual_total": 100.0, "annual_current_year": 90.0}), "funds.annual_total")


def test_one_rate_printed_twice_differently_is_doubted():
    funds = se().funds.model_dump()
    funds["current_year"]["execution_rate"] = 80.0  # the only row of the total, same 100 / 90, another rate
    form = reviewed_for(se(funds=funds), "funds.current_year.execution_rate", "funds.total.execution_rate")
    assert any("两行预算数与执行数相同而执行率不同" in r for r in form.confidence_reasons)
    # The same rate printed twice (even a rate the form worked out wrongly) is no doubt of the reading.
    funds["current_year"]["execution_rate"] = 90.0
    assert checked(se(funds=funds)).route.decision == "accepted"
    funds["current_year"].update(initial_budget=60.0, annual_budget=60.0, executed=54.0)
    funds["carryover"] = {"initial_budget": 40.0, "annual_budget": 40.0, "executed": 36.0, "execution_rate": 90.0}
    assert checked(se(funds=funds)).route.decision == "accepted"  # two sources, each its own rate


SEED4 = (RAW / "004_eec2255c4764dfed.txt").read_text(encoding="utf-8")


def form_named(text: str, name: str):
    return next(f for f in extract_text(text, "x.txt").forms if f.project_name == name)


def test_the_rows_weights_must_add_up_to_the_total_weight_exactly():
    form = se()
    form.indicators[0].weight = 50.4  # within SE-T1's rounding of a 总分 printed 100, but weights are set, not rounded
    form.indicators[0].deviation = "部分活动合并"
    assert not any(f.code == "SE-T1" and f.severity != "info" for f in checked(form.model_copy(deep=True)).findings)
    reviewed_for(form, "total_weight", "indicators[0].weight", "funds.total.weight")


def test_a_year_no_form_can_have_or_its_own_text_contradicts_is_doubted():
    from datetime import date

    reviewed_for(se(year=2122), "year")
    reviewed_for(se(year=1998), "year")
    assert checked(se(year=date.today().year)).route.decision == "accepted"
    reviewed_for(td(year=2023), "year")  # planned 2024-01-01 … 2024-12-31
    assert checked(td(planned_start="2023-07-01")).route.decision == "accepted"  # a plan over two years: no year
    # The title's year misread: the form's text names 2022 (2022 年度吴泾镇…), never 2021.
    title = "财政项目支出绩效自评表 (2022 年度)"
    assert SEED4.count(title) == 1
    form = form_named(SEED4.replace(title, title.replace("2022", "2021")), "区域党建经费")
    assert form.year == 2021 and form.route.decision == "needs_review" and form.extraction_confidence["year"] < 0.8
    assert form_named(SEED4, "区域党建经费").route.decision == "accepted"


def test_values_one_character_off_the_templates_words_or_the_forms_own_labels():
    form = se()
    form.indicators[1].actual = "达戍指标"  # 达成指标 with one character misread
    reviewed_for(form, "indicators[1].actual")
    for actual in ("达成指标", "达成年度指标", "显著提升", "达标", "完善", "未完成"):  # the template's, the form's own words
        form.indicators[1].actual = actual
        assert checked(form.model_copy(deep=True)).route.decision == "accepted", actual
    rows = [{"level1": "产出指标", "level2": "质量指标", "name": f"指标{i}", "target": "完成率100%", "actual": actual,
             "weight": 30.0, "score": 30.0} for i, actual in enumerate(("完成率100%", "完成率100%", "完戍率100%"))]
    reviewed_for(se(indicators=rows, total_score=99.0), "indicators[2].actual")
    rows[2]["actual"] = "满意度100%"  # another label, not one character off
    assert checked(se(indicators=rows, total_score=99.0)).route.decision == "accepted"


def test_a_name_holding_a_tables_rule_is_doubted():
    reviewed_for(se(project_name="图书综合经费|-----------"), "project_name")
    assert checked(se(project_name="图书综合经费（2023-2025年）")).route.decision == "accepted"


def test_a_figure_printed_with_a_leading_zero_is_doubted():
    row = "	年度资金总额	28	28	15.96	10	57%	6	"
    assert SEED4.count(row) == 1
    form = form_named(SEED4.replace(row, row.replace("	6	", "	06	")), "区域党建经费")
    assert form.funds.total.score == 6.0 and form.route.decision == "needs_review"
    assert form.extraction_confidence["funds.total.score"] < 0.8


def test_text_in_the_indicator_table_read_into_no_cell_sends_the_form_to_review():
    from jixiao.schema import Note

    form = se(notes=[Note(field="indicators", code="stray_text", message="text '可持续影太指标' was not read")])
    assert checked(form).route.decision == "needs_review"


def test_the_review_page_says_why_each_doubted_place_is_in_review():
    from jixiao.review.explain import doubts

    form = se(year=2122)
    form.indicators[1].actual = "达戍指标"
    places = {p.key: p for p in doubts(checked(form))}
    assert any("年度" in why and "the year disagrees" in why for why in places["header"].why)
    assert any("达成指标" in why and "template's word" in why for why in places["indicators[1]"].why)


def test_a_share_above_100_percent_is_doubted():
    rows = [{"level1": "满意度指标", "level2": "服务对象满意度指标", "name": "群众满意度", "target": target,
             "actual": "95%", "weight": 40.0, "score": 40.0} for target in ("满意度130%",)]
    form = se(indicators=[se().indicators[0].model_dump(), *rows])
    reviewed_for(form, "indicators[1].target")
    for target in ("满意度100%", "≥90.00(%)", "≥130(人)", "=100.00(%)"):  # a whole share, or a count above 100
        rows[0]["target"] = target
        assert checked(se(indicators=[se().indicators[0].model_dump(), *rows])).route.decision == "accepted", target
