"""The rules back-end on short hand-written forms: each test pins one reading rule."""

import pytest
from jixiao import extract_text

MARKDOWN = """财政项目支出绩效自评表

(2023 年度)

| 项目名称 | 图书经费 | | | | | | |
|---|---|---|---|---|---|---|---|
| 主管部门 | 某街道办事处(汇总) | | | 实施单位 | 某 中心 | | |
| 项目资金 (万元) | | 年初预算数 | 全年预算数 | 全年执行数 | 分数 | 执行率(%) | 得分 |
| | 年度资金总额: | 1,765.05 | 1,744.68 | 1,596.51 | 10.00 | 48 | 9.15 |
| | 其中: 当年财政拨款 | 1,765.05 | 1,744.68 | 1,596.51 | - | 91.51 | - |
| | 上年结转资金 | 0.00 | 0.00 | 0.00 | - | 0.00 | - |
| | 其他资金 | | | | | | |
| 年度总体目标 | 预期目标 | | | 实际完成情况 | | | |
| | <p>建成文化 344/1000 枢纽。</p> | | | <p>新馆开放，</p> | | | |

| | | <p>读者满意。</p> | | | | | |
|---|---|---|---|---|---|---|---|
| 一级指标 | 二级指标 | 三级指标 | 年度指标值 | 实际完成值 | 分值 | 得分 | 偏差原因分析及改进措施 |
| 产出指标 | 数量指标 | 书籍购置量 | ≥46000.00(册) | 38823.00(册) | 6.00 | 5.40 | 单价 较高 |
| | | 活动场次 | =56.00(场) | 56.00(场) | 10.00 | 10.00 | |
| 效益 | 可持续影响 | 长效机制 | 健全有效 | 达成指标 | 6.00 | 6.00 | |

| | | | | | | | |
|---|---|---|---|---|---|---|---|
| 指标 | 响指标 | | | | | | |
| 满意 | 服务 | 读者满意率 | ≥95.00(%) | 95.00(%) | 3.00 | 3.00 | |

- 2 -

| | | | | | | | |
|---|---|---|---|---|---|---|---|
| 度指 标 | 对象 满意 度指 标 | | | | | | |
| | | 居民满意率 | ≥95.00(%) | 95.00(%) | 3.00 | 3.00 | |
| 总分 | | | | | 100.00 | 97.55 | |
| 评分等级 | | | | | | | |
"""


def _form(text):
    record = extract_text(text, name="t.txt")
    assert len(record.forms) == 1
    return record.forms[0]


def test_header_fields_are_compacted_names():
    form = _form(MARKDOWN)
    assert (form.year, form.project_name, form.amount_unit) == (2023, "图书经费", "万元")
    assert form.supervising_dept == "某街道办事处(汇总)"
    assert form.implementing_unit == "某中心"


def test_funds_are_recorded_as_printed_not_recomputed():
    form = _form(MARKDOWN)
    total = form.funds.total
    assert (total.initial_budget, total.annual_budget, total.executed) == (1765.05, 1744.68, 1596.51)
    assert total.execution_rate == 48  # printed 48 although 1596.51/1744.68 is 91.5
    assert form.funds.current_year.weight is None and form.funds.current_year.score is None
    assert form.funds.other.model_dump() == dict.fromkeys(form.funds.other.model_dump())


def test_goal_texts_drop_tags_and_counters_and_rejoin_across_a_table_break():
    form = _form(MARKDOWN)
    assert form.goal_expected.replace(" ", "") == "建成文化枢纽。"
    assert form.goal_actual == "新馆开放，读者满意。"


def test_levels_fill_down_and_labels_rejoin_across_pages():
    form = _form(MARKDOWN)
    rows = [(r.level1, r.level2, r.name) for r in form.indicators]
    assert rows == [
        ("产出指标", "数量指标", "书籍购置量"),
        ("产出指标", "数量指标", "活动场次"),
        ("效益指标", "可持续影响指标", "长效机制"),
        ("满意度指标", "服务对象满意度指标", "读者满意率"),
        ("满意度指标", "服务对象满意度指标", "居民满意率"),
    ]


def test_indicator_cells_and_deviation():
    first = _form(MARKDOWN).indicators[0]
    assert (first.target, first.actual, first.weight, first.score) == ("≥46000.00(册)", "38823.00(册)", 6.0, 5.4)
    assert first.deviation == "单价 较高"


def test_totals_and_blank_grade():
    form = _form(MARKDOWN)
    assert (form.total_weight, form.total_score, form.grade) == (100.0, 97.55, None)
    assert any(n.field == "grade" and n.code == "blank_cell" for n in form.notes)
    assert any(f.code == "SE-G1" and f.severity == "info" for f in form.findings)


def test_spans_point_at_the_printed_text():
    record = extract_text(MARKDOWN, name="t.txt")
    form = record.forms[0]
    span = form.field_spans["funds.total.initial_budget"]
    assert MARKDOWN[span.start:span.end] == "1,765.05"
    span = form.field_spans["project_name"]
    assert MARKDOWN[span.start:span.end] == "图书经费"
    row = form.indicators[0].span
    assert "书籍购置量" in MARKDOWN[row.start:row.end]
    assert MARKDOWN[form.source.span.start:].startswith("财政项目支出绩效自评表")


BROKEN = """财政项目支出绩效自评表
(2023 年度)

项目名称 党群综合服务

主管部门
上海市松江区人民政府九里

亭街道办事处
实施单位

某中心

项目资金
（元）

     年初预算数 全年预算数 全年执行数  分值  执行率 得分

年度资金总额 925000.00 815826.17 815,826.17 10 100.00% 10

    其中：当年财政拨款 925000 815826.17 815826.17 —

                上年结转资金 0 0 —

年度
总体
目标

预期目标 实际完成情况

安排50名老党员体检，
改善身体健康状况。

实际安排了50名老党员
体检。

一级指标 二级指标 三级指标
年度

指标值
实际

完成值
分值 得分

偏差原因分析及
改进措施

体检人数
=28人 =28人 2 2

- 1 -



产出指标

数量指标

党建特色活动次数
=10次 =8次 1 0

部分活动推迟至下
一年度举办

党群服务站点升级改造

数量

=2个 =2个 2 2

质量指标

党建特色活动符合标准
=100% =100% 2 2
 绩
效
指
标

率

培训考核通过率
=100% =100% 2 2

总分 100 99
"""


def test_broken_lines_header_and_funds():
    form = _form(BROKEN)
    assert form.supervising_dept == "上海市松江区人民政府九里亭街道办事处"
    assert form.implementing_unit == "某中心"
    assert form.amount_unit == "元"
    assert form.funds.total.executed == 815826.17
    assert form.funds.total.execution_rate == 100.0
    carry = form.funds.carryover
    assert (carry.initial_budget, carry.annual_budget, carry.executed) == (0.0, 0.0, None)
    assert any(n.field == "funds.carryover" and n.code == "short_row" for n in form.notes)


def test_broken_lines_goals_are_paragraphs():
    form = _form(BROKEN)
    assert form.goal_expected == "安排50名老党员体检，改善身体健康状况。"
    assert form.goal_actual == "实际安排了50名老党员体检。"


def test_broken_lines_rows():
    form = _form(BROKEN)
    rows = [(r.level1, r.level2, r.name, r.target, r.score, r.deviation) for r in form.indicators]
    assert rows == [
        ("产出指标", "数量指标", "体检人数", "=28人", 2.0, None),
        ("产出指标", "数量指标", "党建特色活动次数", "=10次", 0.0, "部分活动推迟至下一年度举办"),
        ("产出指标", "数量指标", "党群服务站点升级改造数量", "=2个", 2.0, None),
        ("产出指标", "质量指标", "党建特色活动符合标准率", "=100%", 2.0, None),
        ("产出指标", "质量指标", "培训考核通过率", "=100%", 2.0, None),
    ]
    assert (form.total_weight, form.total_score) == (100.0, 99.0)


def test_broken_lines_judgement_calls_leave_notes():
    form = _form(BROKEN)
    codes = {(n.field, n.code) for n in form.notes}
    assert ("indicators[0]", "filled_up") in codes
    assert ("indicators[1]", "deviation_by_layout") in codes
    assert ("indicators[3]", "stranded_fragment") in codes


TABS = """财政项目支出绩效自评表

（ 2022 年度）

项目名称\t\t社区党校\t\t\t\t\t\t
主管部门\t\t某镇人民政府\t\t\t实施单位\t某中心\t\t
项目资金 (万元)\t\t年初预算数\t全年预算数\t全年执行数\t分值\t执行率\t得分\t
\t年度资金总额\t1.5\t1.5\t0.48\t10\t45%\t5\t
\t其中：当年财政拨款\t1.5\t1.5\t0.48\t10\t45%\t5\t
\t上年结转资金\t\t\t\t\t\t\t
\t其他资金\t\t\t\t\t\t\t
年度 总体 目标\t预期目标\t\t\t实际完成情况\t\t\t\t
\t提升实效性。\t\t\t创新教学内容\t\t\t\t
绩效 指标\t一级指标\t二级指标\t三级指标\t年度 指标值\t实际 完成值\t分 值\t得 分\t偏差原因分析及改 进措施
\t产出指标\t数量指标\t年内调研\t\t完成率 100%\t完成率 100%\t15\t15\t
\t\t成本指标\t成本控制在预算内\t完成率 100%\t完成率 99%\t10\t10\t
\t\t经济效益指标\t不产生直接经济效益\t0\t0\t0\t0\t
\t效益指标\t社会效益 指标\t党课授课完成率\t完成率 100%\t90%\t15\t14\t预算执行力度有待 进一步提高。
\t满意度 指标\t服务对象满 意度指标\t党员群众满意度\t满意度 100%\t95%\t15\t14\t
总分\t\t\t\t\t\t100\t94\t
"""


def _tab_rows(text):
    form = _form(text)
    return form, [(r.level1, r.level2, r.name, r.target, r.actual, r.weight, r.score, r.deviation)
                  for r in form.indicators]


def test_tab_layout_rows():
    form, rows = _tab_rows(TABS)
    assert rows == [
        ("产出指标", "数量指标", "年内调研", "完成率100%", "完成率100%", 15.0, 15.0, None),
        ("产出指标", "成本指标", "成本控制在预算内", "完成率100%", "完成率99%", 10.0, 10.0, None),
        ("效益指标", "经济效益指标", "不产生直接经济效益", "0", "0", 0.0, 0.0, None),
        ("效益指标", "社会效益指标", "党课授课完成率", "完成率100%", "90%", 15.0, 14.0, "预算执行力度有待 进一步提高。"),
        ("满意度指标", "服务对象满意度指标", "党员群众满意度", "满意度100%", "95%", 15.0, 14.0, None),
    ]
    assert form.funds.total.execution_rate == 45.0
    assert form.funds.carryover.initial_budget is None
    assert (form.goal_expected, form.goal_actual) == ("提升实效性。", "创新教学内容")
    assert (form.total_weight, form.total_score, form.grade) == (100.0, 94.0, None)


def test_tabs_turned_into_spaces_read_the_same():
    spaced = TABS.replace("\t", "    ")
    form, rows = _tab_rows(spaced)
    assert rows == _tab_rows(TABS)[1]
    assert form.model_dump(exclude={"field_spans", "notes", "indicators", "source"}) == \
        _form(TABS).model_dump(exclude={"field_spans", "notes", "indicators", "source"})


DECLARATION = """## 财政项目支出绩效目标申报表

(2024年度)

项目名称\t专户项目经费\t项目性质\t其他经常性项目\t项目类别\t特定目标类
主管部门\t某街道办事处\t实施单位\t某中心\t\t
计划开始日期\t2024-01-01\t计划完成日期\t2024-12-31\t\t
项目资金 (元)\t项目资金总额\t\t年度资金申请总额\t100,000.00\t
\t其中：财政资金\t\t其中：当年财政拨款\t0.00\t
\t\t\t上年结转资金\t0.00\t
\t其他资金\t\t其他资金\t100,000.00\t
项目 绩效 目标\t项目总目标\t\t年度总体目标\t\t
\t\t\t完成2024年专户项目工作。\t\t
\t一级指标\t二级指标\t三级指标\t年度(/项目)指标值\t
绩效 指标\t产出指标\t数量指标\t工作完成率\t=100.00(%)\t
\t\t质量指标\t工作达标率\t=100.00 (%)\t
\t效益指标\t可持续影响指标\t长效管理机制健全性\t建立健全\t
"""


def test_a_declaration_label_after_a_page_break_flags_only_the_rows_it_may_span_naming_both_labels():
    # No weights in a declaration: the label printed first after a page break may span rows
    # before the break, but no more than it has after it (its text sits on the page holding the
    # middle or the top of its cell). Those rows stay where they were read, flagged with both
    # candidate labels; the rows further up are not in doubt.
    head = DECLARATION.split("\t一级指标")[0]
    table = "\t一级指标\t二级指标\t三级指标\t年度(/项目)指标值\t\n" \
            "\t产出指标\t数量指标\t活动场次甲\t≥4.00(次)\t\n" + "".join(
                f"\t\t\t活动场次{c}\t≥4.00(次)\t\n" for c in "乙丙丁戊己") + \
            "\n\t\t质量指标\t设施完好率\t=100.00(%)\t\n\t\t\t设计达标率\t=100.00(%)\t\n" \
            "\t效益指标\t可持续影响指标\t长效管理机制健全性\t建立健全\t\n"
    form = _form(head + table)
    assert [r.level2 for r in form.indicators] == ["数量指标"] * 6 + ["质量指标"] * 2 + ["可持续影响指标"]
    flagged = {n.field: n.message for n in form.notes if n.code == "level_ambiguous"}
    assert set(flagged) == {"indicators[4]", "indicators[5]"}
    assert all("产出指标 / 数量指标" in m and "产出指标 / 质量指标" in m for m in flagged.values())
    assert not any(n.code == "level_placed" for n in form.notes)
    assert form.confidence < 0.5


def _broken_declaration(before_break: list[tuple[str, str]]) -> str:
    """A declaration whose 质量指标 label is printed first after a page break (a blank line),
    with `before_break` the rows printed under 数量指标 before it."""
    head = DECLARATION.split("\t一级指标")[0]
    rows = "".join(f"\t\t\t{name}\t{target}\t\n" for name, target in before_break)
    return head + "\t一级指标\t二级指标\t三级指标\t年度(/项目)指标值\t\n" \
        "\t产出指标\t数量指标\t培训班举办场次\t≥6.00(场)\t\n" + rows + \
        "\n\t\t质量指标\t课程考核合格率\t≥95.00(%)\t\n\t\t\t教材内容规范率\t=100.00(%)\t\n" \
        "\t\t\t学员档案完整率\t=100.00(%)\t\n\t效益指标\t社会效益指标\t居民知晓率\t≥85.00(%)\t\n"


@pytest.mark.parametrize("spaces", [False, True], ids=["tabs", "columns-by-spaces"])
def test_rows_before_a_page_break_are_placed_by_the_kind_of_their_label_and_still_reviewed(spaces):
    # Counts (场, 册, 人次) end the 数量 group; a staffing standard (名/班) starts the 质量 group
    # whose label the page break pushed below it, and a bare rate after it goes with it (a
    # group's rows are contiguous). Placed by meaning: a guess, so noted and reviewed.
    text = _broken_declaration([("宣传手册印制数量", "≥500.00(册)"), ("志愿者服务人次", "≥800.00(人次)"),
                                ("讲师配备标准", "=2.00(名/班)"), ("任务完成率", "=100.00(%)")])
    form = _form(text.replace("\t", "    ") if spaces else text)
    assert [r.level2 for r in form.indicators] == ["数量指标"] * 3 + ["质量指标"] * 5 + ["社会效益指标"]
    placed = {n.field for n in form.notes if n.code == "level_placed"}
    assert placed == {"indicators[3]", "indicators[4]"}
    flagged = {n.field for n in form.notes if n.code == "level_ambiguous"}
    assert placed <= flagged
    assert form.route.decision == "needs_review" and form.confidence < 0.5


@pytest.mark.parametrize("spaces", [False, True], ids=["tabs", "columns-by-spaces"])
def test_rows_the_kinds_leave_open_before_a_page_break_are_flagged_not_moved(spaces):
    # A bare rate between the last count and the standard could end either group.
    text = _broken_declaration([("宣传手册印制数量", "≥500.00(册)"), ("任务完成率", "=100.00(%)"),
                                ("讲师配备标准", "=2.00(名/班)")])
    form = _form(text.replace("\t", "    ") if spaces else text)
    assert [r.level2 for r in form.indicators] == ["数量指标"] * 4 + ["质量指标"] * 3 + ["社会效益指标"]
    assert not any(n.code == "level_placed" for n in form.notes)
    assert {"indicators[2]", "indicators[3]"} <= {n.field for n in form.notes if n.code == "level_ambiguous"}


def test_declaration_fields():
    form = _form(DECLARATION)
    assert form.kind == "target_declaration"
    assert (form.project_name, form.project_nature, form.project_category) == ("专户项目经费", "其他经常性项目", "特定目标类")
    assert (form.planned_start, form.planned_end, form.year) == ("2024-01-01", "2024-12-31", 2024)
    funds = form.funds
    assert (funds.project_total, funds.project_fiscal, funds.project_other) == (None, None, None)
    assert (funds.annual_total, funds.annual_current_year, funds.annual_carryover, funds.annual_other) == \
        (100000.0, 0.0, 0.0, 100000.0)
    assert (form.goal_overall, form.goal_annual) == (None, "完成2024年专户项目工作。")
    assert [(r.level1, r.level2, r.name, r.target) for r in form.indicators] == [
        ("产出指标", "数量指标", "工作完成率", "=100.00(%)"),
        ("产出指标", "质量指标", "工作达标率", "=100.00(%)"),
        ("效益指标", "可持续影响指标", "长效管理机制健全性", "建立健全"),
    ]


def test_what_cannot_be_read_is_null_with_a_note():
    text = MARKDOWN.split("| 总分 |")[0]
    form = _form(text)
    assert form.total_score is None and form.total_weight is None
    assert any(n.field == "total_score" and n.code == "not_found" for n in form.notes)


def test_a_label_printed_mid_group_takes_as_many_rows_above_as_below_and_is_marked():
    # No weights decide it (the 一级 sums are not the standard shares): the label sits at the
    # middle of its merged cell, so one row below it means one row above it; still reviewed.
    head = BROKEN.split("体检人数")[0]
    text = head + "时效指标\n\n活动完成及时率\n及时 及时 2 2\n\n两新党组织覆盖面\n全面 全面 5 5\n 效益指标\n\n社会效益指标\n\n" \
                  "服务站点服务能力提升\n\n提升 提升 3 3\n\n总分 100 99\n"
    form = _form(text)
    assert [(r.level2, r.name) for r in form.indicators] == [
        ("时效指标", "活动完成及时率"), ("社会效益指标", "两新党组织覆盖面"), ("社会效益指标", "服务站点服务能力提升")]
    assert {n.field for n in form.notes if n.code == "level_ambiguous"} == {"indicators[1]"}
    assert {n.field for n in form.notes if n.code == "level_placed"} == {"indicators[1]"}


def test_a_label_printed_mid_group_is_placed_by_the_standard_weight_shares():
    # 产出 rows weigh 50 only if the last two rows above the floating 效益指标 are its rows.
    head = BROKEN.split("体检人数")[0]
    rows = "".join(f"时效行{i}\n及时 及时 10 10\n\n" for i in range(5))
    text = head + "产出指标 时效指标\n\n" + rows + "两新党组织覆盖面\n全面 全面 10 10\n" \
        "提升群众参与积极性\n提升 提升 10 10\n 效益指标\n\n社会效益指标\n\n服务站点服务能力提升\n\n提升 提升 10 10\n\n" \
        "满意度指标 服务对象满意度指标\n\n居民满意度\n满意 满意 10 10\n\n总分 100 100\n"
    form = _form(text)
    assert [r.level1 for r in form.indicators] == ["产出指标"] * 5 + ["效益指标"] * 3 + ["满意度指标"]
    assert [r.level2 for r in form.indicators][5:8] == ["社会效益指标"] * 3
    placed = {n.field for n in form.notes if n.code == "level_placed"}
    assert placed == {"indicators[5]", "indicators[6]"} and form.confidence < 0.8


def test_two_rows_run_together_leave_a_note():
    text = DECLARATION.replace("\t\t质量指标\t工作达标率\t=100.00 (%)\t\n", "\t\t质量指标\t工作达标率\t=100.00 (%)\t")
    form = _form(text)
    assert any(n.code == "value_in_name" for n in form.notes)
    assert not any(n.code == "value_in_name" for n in _form(DECLARATION).notes)


def test_a_short_fund_row_of_a_ruled_table_is_placed_by_cell():
    # A scan's reader may not see a lone "-": the ruled row keeps its empty cell, and the
    # 执行率 must stay under 执行率, not slide under 分值.
    text = "\n".join([
        "财政项目支出绩效自评表", "(2023 年度)",
        "项目名称\t图书经费", "主管部门\t某街道办事处\t实施单位\t某中心",
        "项目资金 (万元)\t\t年初预算数\t全年预算数\t全年执行数\t分数\t执行率(%)\t得分",
        "\t年度资金总额:\t1,765.05\t1,744.68\t1,596.51\t10.00\t91.51\t9.15",
        "\t其中: 当年财政拨款\t1,765.05\t1,744.68\t1,596.51\t\t91.51\t",
        "\t上年结转资金\t0.00\t0.00\t0.00\t\t0.00\t",
        "一级指标\t二级指标\t三级指标\t年度指标值\t实际完成值\t分值\t得分",
        "产出指标\t数量指标\t书籍购置量\t≥46000.00(册)\t38823.00(册)\t6.00\t5.40",
        "总分\t\t\t\t\t100\t90"])
    funds = extract_text(text).forms[0].funds
    assert (funds.current_year.weight, funds.current_year.execution_rate) == (None, 91.51)
    assert (funds.carryover.executed, funds.carryover.execution_rate, funds.carryover.score) == (0.0, 0.0, None)


def test_the_year_is_read_when_a_scan_lost_its_opening_bracket():
    assert extract_text(MARKDOWN.replace("(2023 年度)", "2023 年度)")).forms[0].year == 2023
    assert extract_text(MARKDOWN.replace("(2023 年度)", "（2023年）")).forms[0].year == 2023



def test_a_label_run_into_a_name_leaves_a_note_and_sends_the_form_to_review():
    # A lost separator: the 二级 label cell and the name cell come out as one cell.
    text = MARKDOWN.replace("| | | 活动场次 |", "| | 时效指标活动场次 | |")
    form = _form(text)
    assert any(r.name == "时效指标活动场次" for r in form.indicators)
    assert any(n.code == "label_in_name" for n in form.notes) and form.route.decision == "needs_review"
    assert not any(n.code == "label_in_name" for n in _form(MARKDOWN).notes)


def test_text_of_one_cell_per_line_is_always_reviewed():
    # pdftotext's default output pairs labels and values by order alone: whatever the reader
    # makes of it, a person checks it.
    from conftest import SEEDS

    text = SEEDS[3].read_text(encoding="utf-8")
    cells = [c.strip() for line in text.splitlines() for c in line.split("\t") if c.strip()]
    record = extract_text("\n\n".join(cells), name="cells.txt")
    assert len(record.forms) >= 1
    assert all(f.route.decision == "needs_review" for f in record.forms)
    assert all(any(n.code == "cell_sequence" for n in f.notes) for f in record.forms)
