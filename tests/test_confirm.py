"""Fields the form's own figures confirm (validate/confirm.py), and what confidence does with
them: an OCR doubt about a confirmed value is set aside, an unconfirmed value keeps it."""

from __future__ import annotations

from test_validate import se

from jixiao.confidence import score
from jixiao.provenance import field_boxes
from jixiao.route import route
from jixiao.schema import FieldBox, Note, Span, TargetDeclaration, TextBox
from jixiao.validate.values import Values


def sure(form) -> set[str]:
    from jixiao.validate.confirm import confirmed

    return set(confirmed(Values(form)))


def test_sums_rates_and_totals_that_hold_confirm_every_value_in_them():
    got = sure(se())
    assert {"funds.total.annual_budget", "funds.current_year.annual_budget", "funds.total.executed",
            "funds.current_year.executed", "funds.total.execution_rate"} <= got
    assert {"total_weight", "total_score", "funds.total.weight", "funds.total.score", "indicators[0].weight",
            "indicators[1].score"} <= got


def test_a_misread_figure_breaks_its_checks_and_confirms_nothing_there():
    form = se()
    form.indicators[0].score = 56.0  # 9 + 56 + 40 is not the printed 99
    got = sure(form)
    assert "indicators[0].score" not in got and "total_score" not in got and "indicators[1].score" not in got
    assert "indicators[0].weight" in got  # the weights still add up to their total
    form = se()
    form.funds.total.execution_rate = 98.0  # 90 / 100 is not 98%
    assert "funds.total.execution_rate" not in sure(form)


def test_a_rate_is_confirmed_only_within_its_printed_rounding():
    form = se()
    form.funds.total.executed = form.funds.current_year.executed = 90.04  # 90.04%: 90 to the printed digits
    assert "funds.total.execution_rate" in sure(form)
    form.funds.total.executed = form.funds.current_year.executed = 90.6  # 90.6%: not 90
    assert "funds.total.execution_rate" not in sure(form)


def test_a_total_of_0_confirms_nothing():
    form = se()
    form.funds.total.annual_budget = form.funds.current_year.annual_budget = 0.0  # 0 = 0 whatever was misread
    got = sure(form)
    assert "funds.total.annual_budget" not in got and "funds.current_year.annual_budget" not in got
    assert "funds.total.execution_rate" not in got


def declaration(**kw) -> TargetDeclaration:
    base = {"year": 2024, "project_name": "P", "planned_start": "2024-01-01", "planned_end": "2024-12-31",
            "funds": {"annual_total": 30.0, "annual_current_year": 30.0}}
    return TargetDeclaration.model_validate(base | kw)


def test_the_year_is_confirmed_by_the_planned_dates_it_was_not_taken_from():
    assert {"year", "funds.annual_total", "funds.annual_current_year"} <= sure(declaration())
    assert "year" not in sure(declaration(year=2023))
    taken = declaration(notes=[Note(field="year", code="year_from_plan", message="from the dates")])
    assert "year" not in sure(taken)


def ocr_box(confidence: float) -> FieldBox:
    return FieldBox(page=1, unit="px", left=0, top=0, right=9, bottom=9, confidence=confidence)


def test_ocr_doubt_is_set_aside_for_a_confirmed_value_only():
    form = se()
    form.field_boxes = {"indicators[0].score": ocr_box(0.6)}
    assert route(score(form, None)).route.decision == "accepted"
    assert any("confirmed" in r for r in form.confidence_reasons)
    misread = se()
    misread.indicators[0].score = 56.0
    misread.field_boxes = {"indicators[0].score": ocr_box(0.6)}
    routed = route(score(misread, None))
    assert routed.route.decision == "needs_review" and routed.field_confidence["indicators[0].score"] < 0.8
    name = se()
    name.field_boxes = {"indicators[0].name": ocr_box(0.6)}  # a name: nothing confirms it
    assert route(score(name, None)).route.decision == "needs_review"


def test_a_rows_ocr_doubt_falls_on_its_fields_without_a_box_not_on_template_labels():
    form = se()
    form.field_boxes = {"indicators[1]": ocr_box(0.6), "indicators[1].name": ocr_box(0.99),
                        "indicators[1].target": ocr_box(0.99), "indicators[1].actual": ocr_box(0.99)}
    conf = score(form, None).field_confidence
    assert conf["indicators[1].level1"] > 0.9 and conf["indicators[1].name"] > 0.9
    assert conf["indicators[1].deviation"] < 0.8  # no box of its own: the row's doubt is its
    form = se()
    form.indicators[1].level2 = "社会效益"  # not a label of the template: the row's doubt may be in it
    form.field_boxes = {"indicators[1]": ocr_box(0.6)}
    assert score(form, None).field_confidence["indicators[1].level2"] < 0.8


def filled(level: str, name: str, target: str, below: str = "服务对象满意度指标"):
    form = se()
    form.indicators[1].name, form.indicators[1].target, form.indicators[1].actual = name, target, target
    form.indicators.append(form.indicators[1].model_copy(update={"level1": "满意度指标", "level2": below,
                                                                   "name": "满意度", "target": "≥90%"}))
    form.notes = [Note(field=f"indicators[1].{level}", code="filled_down", message="blank cell")]
    return score(form, None).field_confidence[f"indicators[1].{level}"]


def test_a_label_filled_down_is_trusted_when_the_row_confirms_it():
    assert filled("level1", "影响", "提升") > 0.9  # 社会效益指标 is under 效益指标 alone
    assert filled("level2", "群众参与率", "≥90%") > 0.9  # 参与: 社会效益's kind, not 满意度's
    assert filled("level2", "影响", "提升") < 0.8  # words of no kind: the label above is a guess


def test_a_field_takes_the_ocr_doubt_of_its_own_characters_only():
    form = se()
    form.field_spans = {"year": Span(start=1, end=5)}
    # "(2023年度)": the reader unsure of the bracket, sure of the digits
    run = TextBox(start=0, end=8, page=1, unit="px", left=0, top=0, right=80, bottom=10, confidence=0.5,
                  confidences=[0.5, 0.99, 0.98, 0.99, 0.97, 0.9, 0.9, 0.6])
    assert field_boxes(form, [run])["year"].confidence == 0.97
    old = run.model_copy(update={"confidences": None})  # a box read before confidences were kept
    assert field_boxes(form, [old])["year"].confidence == 0.5


def run(text: str, confidences: list[float | None], start: int = 0) -> TextBox:
    return TextBox(start=start, end=start + len(text), page=1, unit="px", left=0, top=0, right=9, bottom=9,
                   confidence=min(c for c in confidences if c is not None), confidences=confidences)


def test_a_number_takes_the_doubt_of_its_figures_a_name_that_of_its_letters_but_a_pair_of_quotes():
    text = "0%\t“泾彩”书记"
    form = se(project_name="“泾彩”书记")
    form.funds.total.execution_rate = 0.0
    form.field_spans = {"funds.total.execution_rate": Span(start=0, end=2), "project_name": Span(start=3, end=9)}
    boxes = [run("0%", [0.99, 0.6]), run("“泾彩”书记", [0.9, 0.99, 0.99, 0.7, 0.99, 0.99], start=3)]
    got = field_boxes(form, boxes, text)
    assert got["funds.total.execution_rate"].confidence == 0.99  # the % sign is no part of the number
    assert got["project_name"].confidence == 0.99  # “ and ” are a pair: only their shape is in doubt
    assert field_boxes(form, boxes)["project_name"].confidence == 0.7  # without the text: every character
    form.project_name = "泾彩”书记"
    form.field_spans["project_name"] = Span(start=4, end=9)
    assert field_boxes(form, boxes, text)["project_name"].confidence == 0.7  # a quote mark alone may be a misread


def test_a_rows_cells_carry_their_own_doubt_when_the_reader_gave_the_row_a_span_only():
    form = se()
    row = "产出指标\t数量指标\t活动场次\t≥10(场)\t10(场)\t50\t50"
    form.field_spans = {"indicators[0]": Span(start=0, end=len(row))}
    confidences = [0.99] * len(row)
    confidences[row.index("\t10(场)") + 1] = 0.5  # the actual's 1
    got = field_boxes(form, [run(row, [None if c == "\t" else k for c, k in zip(row, confidences)])], row)
    assert got["indicators[0].actual"].confidence == 0.5 and got["indicators[0].name"].confidence == 0.99
    assert got["indicators[0]"].confidence == 0.99  # the row's own doubt: its label cells'


def test_a_paragraph_with_few_doubtful_characters_is_not_in_doubt_a_short_value_is():
    form = se()
    form.goal_actual = "长" * 60
    form.field_boxes = {"goal_actual": FieldBox(page=1, unit="px", left=0, top=0, right=9, bottom=9, confidence=0.5,
                                                unsure=1 / 60)}
    assert score(form, None).field_confidence["goal_actual"] > 0.9
    form.field_boxes["goal_actual"].unsure = 4 / 60  # more than a misread paragraph could hide
    assert score(form, None).field_confidence["goal_actual"] < 0.8


def test_a_lone_character_is_read_on_its_own_scale():
    form = se()
    form.indicators[1].actual = "0"
    form.field_boxes = {"indicators[1].actual": ocr_box(0.6)}  # a 0 alone in its cell, read with 0.6
    assert route(score(form, None)).route.decision == "accepted"
    form.indicators[1].actual = "达成指标"
    assert route(score(form, None)).route.decision == "needs_review"


def test_an_amount_a_short_scanned_funds_row_left_blank_is_a_guess_its_blank_score_is_not():
    form = se()
    form.funds.other.annual_budget = None  # the row printed fewer figures than columns: lost, or blank?
    form.notes = [Note(field="funds.other", code="short_row", message="1 values for 6 columns")]
    form.field_boxes = {"project_name": ocr_box(0.99)}  # a scan: a lone 0 may be lost
    conf = score(form, None).field_confidence
    assert conf["funds.other.annual_budget"] < 0.8
    assert conf["funds.other.score"] > 0.8  # the template leaves a sub-row's 得分 blank
    form.field_boxes = {}  # a text: its blanks are printed blanks
    assert score(form, None).field_confidence["funds.other.annual_budget"] > 0.8
