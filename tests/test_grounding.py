"""Grounding where the value sits (issue 14 item 1): a value an LLM returns is checked at its
place in the form (its funds row, its indicator row, its row's group label), not anywhere in
the form. The forms here are hand-written in the template's vocabulary, not the seeds."""

from __future__ import annotations

import pytest

from jixiao.backends.grounding import Grounding, printed_figure, printed_whole, printed_wrapped, rules_reading
from jixiao.schema import Chunk, Note, SelfEvaluation, Span

FORM = """财政项目支出绩效自评表
（2024年度）
项目名称\t\t社区睦邻中心运营
主管部门\t\t某区某街道办事处\t\t\t实施单位\t某街道社区事务受理中心
项目资金 (万元)\t\t年初预算数\t全年预算数\t全年执行数\t分值\t执行率\t得分
\t年度资金总额\t36\t36\t30.6\t10\t85%\t8
\t其中：当年财政拨款\t36\t36\t30.6\t10\t85%\t8
\t上年结转资金\t\t\t\t\t\t
\t其他资金\t\t\t\t\t\t
年度 总体 目标\t预期目标\t\t\t实际完成情况
\t运营好睦邻中心，服务居民。\t\t\t睦邻中心全年开放，服务居民。
绩效 指标\t一级指标\t二级指标\t三级指标\t年度 指标值\t实际 完成值\t分 值\t得 分\t偏差原因分析及改 进措施
\t产出 指标\t数量指标\t开展活动场次\t≥48场\t52场\t20\t20\t
\t\t质量指标\t活动满意率\t≥90%\t93%\t20\t20\t
\t\t时效指标\t按时完成率\t100%\t100%\t10\t10\t
\t效益 指标\t社会效益 指标\t服务居民人次\t≥3000人次\t3210人次\t15\t15\t
\t\t生态效益 指标\t不产生生态效益\t0\t0\t0\t0\t
\t\t可持续影响 指标\t中心持续运营\t持续\t持续\t15\t15\t
\t满意度 指标\t服务对象满 意度指标\t居民满意度\t≥90%\t95%\t10\t10\t
总分\t\t\t\t\t100\t98\t
"""


def _chunk(text: str = FORM, at: int = 0) -> Chunk:
    return Chunk(document="hand.txt", index=0, kind="self_evaluation", span=Span(start=at, end=at + len(text)),
                 text=text)


def _answer() -> SelfEvaluation:
    """The form as a careful reader transcribes it."""
    rows = [("产出指标", "数量指标", "开展活动场次", "≥48场", "52场", 20, 20),
            ("产出指标", "质量指标", "活动满意率", "≥90%", "93%", 20, 20),
            ("产出指标", "时效指标", "按时完成率", "100%", "100%", 10, 10),
            ("效益指标", "社会效益指标", "服务居民人次", "≥3000人次", "3210人次", 15, 15),
            ("效益指标", "生态效益指标", "不产生生态效益", "0", "0", 0, 0),
            ("效益指标", "可持续影响指标", "中心持续运营", "持续", "持续", 15, 15),
            ("满意度指标", "服务对象满意度指标", "居民满意度", "≥90%", "95%", 10, 10)]
    fund = {"initial_budget": 36, "annual_budget": 36, "executed": 30.6, "weight": 10, "execution_rate": 85, "score": 8}
    return SelfEvaluation.model_validate({
        "year": 2024, "project_name": "社区睦邻中心运营", "supervising_dept": "某区某街道办事处",
        "implementing_unit": "某街道社区事务受理中心", "amount_unit": "万元",
        "funds": {"total": fund, "current_year": fund},
        "goal_expected": "运营好睦邻中心，服务居民。", "goal_actual": "睦邻中心全年开放，服务居民。",
        "indicators": [dict(zip(("level1", "level2", "name", "target", "actual", "weight", "score"), r)) for r in rows],
        "total_weight": 100, "total_score": 98})


def _misplaced(form: SelfEvaluation, at: int = 0) -> dict:
    chunk = _chunk(at=at)
    return Grounding(chunk, rules_reading(chunk, [])).misplaced(form)


def test_a_faithful_answer_has_nothing_misplaced_wherever_the_form_sits_in_its_document():
    assert _misplaced(_answer()) == {}
    assert _misplaced(_answer(), at=5000) == {}  # spans are document offsets


def test_a_label_printed_in_another_group_is_misplaced_and_quoted_with_its_row():
    form = _answer()
    form.indicators[3].level2 = "生态效益指标"  # printed two rows down: found in the form, not at the row
    out = _misplaced(form)
    assert list(out) == ["indicators[3].level2"]
    assert "社会效益指标" in out["indicators[3].level2"].why
    assert "服务居民人次" in out["indicators[3].level2"].place


def test_an_amount_or_figure_printed_only_in_another_row_is_misplaced():
    form = _answer()
    form.funds.total.executed = 36.0  # the row's budget, printed in the row: still a figure of that row
    form.indicators[0].weight = 15.0  # printed in another row only
    form.indicators[2].score = 100.0  # printed in the row, but as a target (100%), not as a figure
    out = _misplaced(form)
    assert "indicators[0].weight" in out and "indicators[2].score" in out
    assert "服务居民人次" not in out["indicators[0].weight"].place  # quoted: its own row, not the one it came from
    assert "开展活动场次" in out["indicators[0].weight"].place


@pytest.mark.slow
def test_a_value_cut_short_or_left_out_and_a_row_left_out_are_misplaced():
    form = _answer()
    form.indicators[0].target = "≥48"  # its unit dropped: the head of a printed value, not the value
    form.indicators[1].name = "活动满意"
    form.indicators[2].weight = None  # printed 10 there: left out
    del form.indicators[5]
    out = _misplaced(form)
    assert {"indicators[0].target", "indicators[1].name", "indicators[2].weight", "indicators"} <= set(out)
    assert "中心持续运营" in out["indicators"].place


def test_printed_whole_takes_a_token_not_the_head_or_tail_of_a_longer_one():
    assert printed_whole("完成率100%", "x\t完成率 100%\t95%")  # spaces a layout puts inside a cell
    assert printed_whole("万元", "项目资金 (万元)")  # a bracketed unit
    assert printed_whole("成本控制在预算内", "成本控制在预算\n内\t100%")  # a wrapped cell
    assert not printed_whole("=28", "体检人数 =28人")
    assert not printed_whole("才覆盖率", "人才覆盖率 100%")
    assert not printed_whole("00", "0\t0\t0")  # two cells are not one number
    assert printed_figure(100, "总分\t\t100\t98")
    assert not printed_figure(100, "完成率 100%\t93%\t10\t10")  # a target, not a score
    assert printed_figure(85, "年度资金总额 36 36 30.6 10 85% 8", with_unit=True)
    assert not printed_figure(3.6, "36 36 30.6")


def test_a_cell_wrapped_beside_other_cells_is_printed_whole_but_not_two_figures_run_together():
    beside = "主管部门 某区某街道办 实施单位 某街道社区事\n事处(汇总) 务受理中心"
    assert printed_wrapped("某区某街道办事处(汇总)", beside)
    assert printed_wrapped("某街道社区事务受理中心", beside)
    assert not printed_wrapped("某区某街道事处(汇总)", beside)  # a character dropped mid-cell
    assert not printed_wrapped("00", "10 0 0")


def test_a_cell_wrapped_over_two_thousand_lines_is_searched_without_running_out_of_stack():
    # One line a step: the search once recursed a frame a line, and a value wrapped over
    # ~1,000 lines raised RecursionError (its check lost, the form sent to review for it).
    pieces = [f"第{i}段说明" for i in range(2000)]
    beside = "\n".join(f"{piece} 旁栏{i}" for i, piece in enumerate(pieces))
    assert printed_wrapped("".join(pieces), beside)
    assert not printed_wrapped("".join(pieces[:1500] + pieces[1501:]), beside)  # a line left out
    assert not printed_wrapped("".join(pieces) + "未印", beside)


def test_a_reading_that_pairs_cells_by_order_places_nothing_so_labels_are_left_to_a_reviewer():
    chunk = _chunk()
    rules = rules_reading(chunk, [])
    rules.notes.append(Note(field="kind", code="cell_sequence", message="one cell per line"))
    form = _answer()
    form.indicators[3].level2 = "生态效益指标"
    grounding = Grounding(chunk, rules)
    assert grounding.misplaced(form) == {}  # printed in the form; no group to check it against
    assert grounding.unplaced(form)
    assert Grounding(chunk, rules_reading(chunk, [])).unplaced(form) is None
    form.indicators[0].target = "≥46场"  # printed nowhere: still caught
    assert list(grounding.misplaced(form)) == ["indicators[0].target"]


def test_a_row_the_rules_reader_did_not_read_has_its_labels_left_to_a_reviewer():
    chunk = _chunk()
    rules = rules_reading(chunk, [])
    del rules.indicators[4]  # as if the rules reader had missed the row
    form = _answer()
    doubts = Grounding(chunk, rules).label_doubts(form)
    assert list(doubts) == ["indicators[4]"]
    assert Grounding(chunk, rules_reading(chunk, [])).label_doubts(form) == {}


def test_a_rows_figures_answered_in_each_others_cells_are_misplaced_though_printed_in_the_row():
    form = _answer()
    row = form.indicators[0]
    row.target, row.actual = row.actual, row.target  # 52场 / ≥48场: both printed in the row's line
    out = _misplaced(form)
    assert set(out) == {"indicators[0].target", "indicators[0].actual"}
    assert "≥48场" in out["indicators[0].target"].why and "开展活动场次" in out["indicators[0].target"].place


def test_when_the_rules_reader_has_the_cells_the_other_way_round_a_faithful_answer_is_a_question_not_a_verdict():
    chunk = _chunk()
    rules = rules_reading(chunk, [])
    row = rules.indicators[0]
    row.target, row.actual = row.actual, row.target  # as if the rules reader had the columns wrong
    grounding = Grounding(chunk, rules)
    form = _answer()
    assert set(grounding.misplaced(form)) == {"indicators[0].target", "indicators[0].actual"}  # asked, reviewed
    assert grounding.at_place(form, "indicators[0].target", "≥48场") is True  # the source does not refute it


def test_a_budget_and_the_amount_spent_answered_in_each_others_cells_are_misplaced():
    form = _answer()
    total = form.funds.total
    total.annual_budget, total.executed = total.executed, total.annual_budget  # 30.6 and 36: both in the row
    assert {"funds.total.annual_budget", "funds.total.executed"} <= set(_misplaced(form))
