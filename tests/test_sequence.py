"""The cell-sequence reader (pdftotext's default output: one table cell per line, cells apart
by blank lines) on short hand-written forms: each test pins one reading rule."""

from jixiao import extract_text


def _cells(*cells: str) -> str:
    """Cells as pdftotext prints a ruled table: each cell a block, its wrapped lines together."""
    return "".join(cell + "\n\n" for cell in cells)


HEAD = _cells(
    "财政项目支出绩效自评表", "(2023", "年度)", "项目名称", "图书经费", "主管部门", "某街道办事处", "实施单位", "某中心",
    "项目资金 (万元)", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分",
    "年度资金总额", "10.00", "10.00", "10.00", "10", "100%", "10",
    "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施",
    "产出指标", "数量指标")
TAIL = _cells("总分", "100", "90", "评分等级", "优")


def _form(*rows: tuple[str, ...], tail: str = TAIL):
    record = extract_text(HEAD + "".join(_cells(*row) for row in rows) + tail, name="cells.txt")
    assert len(record.forms) == 1
    form = record.forms[0]
    assert any(n.code == "cell_sequence" for n in form.notes) and form.route.decision == "needs_review"
    return form


def _rows(*rows: tuple[str, ...]) -> list:
    return _form(*rows).indicators


def test_a_narrow_cell_wrapped_over_lines_is_one_name():
    # A narrow 三级指标 column: the name's lines stand together in one block, each as wide as
    # the column; they are one cell, not a name and an orphan.
    rows = _rows(("一至三层党\n建中心建设", "完成建设", "完成建设", "15", "15"),
                 ("符合区委组\n织部工作要\n求", "完成率 100%", "完成率 100%", "10", "10"),
                 ("经济效益指\n标", "不产生直接\n经济效益", "0", "0", "0", "0"))
    assert [r.name for r in rows] == ["一至三层党建中心建设", "符合区委组织部工作要求", "不产生直接经济效益"]
    assert rows[2].level2 == "经济效益指标" and rows[2].target == "0"


def test_a_long_name_before_its_values_is_not_the_deviation_above():
    rows = _rows(("采购及时性", "及时", "达成指标", "5.00", "5.00"),
                 ("党群服务站各项日常管理运行工作完成及时率", "=100.00(%)", "100.00(%)", "5.00", "5.00"),
                 ("书籍上架完好率", "=100.00(%)", "100.00(%)", "5.00", "4.00", "部分书籍破损，今后加强管理。"),
                 ("读者满意率", "≥95.00(%)", "95.00(%)", "3.00", "3.00"))
    assert [r.name for r in rows] == ["采购及时性", "党群服务站各项日常管理运行工作完成及时率", "书籍上架完好率", "读者满意率"]
    assert rows[0].deviation is None and rows[1].target == "=100.00(%)"
    assert rows[2].deviation == "部分书籍破损，今后加强管理。"


def test_cells_printed_below_the_table_complete_the_row_short_of_them():
    # The last row's name and 得分 stand in their place; its target, actual and 分值 come on
    # one line after 总分 and 评分等级, 总分's own figures after them. A row's name printed
    # with the labels after the rows goes to the row printed without one.
    form = _form(("书籍购置量", "≥100(册)", "90(册)", "6.00", "5.40"), ("逐年提升", "达成指标", "5.00", "4.50"),
                 ("读者满意率", "3.00"),
                 tail=_cells("效益指标 社会效益指标 文化素养提升", "总分", "评分等级", "≥95.00(%) 95.00(%) 2.00",
                             "100.00 97.55", "优"))
    assert [r.name for r in form.indicators] == ["书籍购置量", "文化素养提升", "读者满意率"]
    last = form.indicators[-1]
    assert (last.name, last.target, last.actual, last.weight, last.score) == ("读者满意率", "≥95.00(%)", "95.00(%)", 2.0, 3.0)
    assert (form.total_weight, form.total_score) == (100.0, 97.55)


def test_labels_printed_after_the_rows_are_placed_in_the_template_order():
    # pdftotext prints merged 二级 cells where its reading order falls: 满意度 beside its row,
    # 时效 and 社会效益 after the last row. The template orders them 产出 (数量, 质量, 时效),
    # 效益, 满意度; the rows' words place the cuts.
    form = _form(("书籍购置量", "≥100(册)", "90(册)", "6.00", "5.40"),
                 ("质量指标",), ("书籍上架完好率", "=100.00(%)", "100.00(%)", "5.00", "5.00"),
                 ("采购及时性", "及时", "达成指标", "5.00", "5.00"),
                 ("文化素养提升", "逐年提升", "达成指标", "5.00", "5.00"),
                 ("满意度指标 服务对象满意度指标 读者满意率 ≥95.00(%) 95.00(%) 3.00", "3.00"),
                 ("时效指标",), ("效益指标 社会效益指标",))
    assert [(r.level1, r.level2) for r in form.indicators] == [
        ("产出指标", "数量指标"), ("产出指标", "质量指标"), ("产出指标", "时效指标"), ("效益指标", "社会效益指标"),
        ("满意度指标", "服务对象满意度指标")]
    assert all(any(n.code == "level_ambiguous" and n.field == f"indicators[{i}].level2" for n in form.notes)
               for i in range(5))


def test_a_label_whose_end_is_printed_rows_later_is_completed_there():
    # `社会效益` stands before its rows; `指标` comes with the next label at the start of a
    # later name's line: both are labels, not part of the name.
    form = _form(("完成居民区工作数量 =48.00(个) 48.00(个)", "10.00", "10.00"), ("社会效益",),
                 ("提升辖区居民生活获得感 提升", "达成指标", "12.00", "12.00"),
                 ("指标可持续影响指标居民区党组织工作长效管理机制健全性 健全", "达成指标", "10.00", "10.00"))
    assert [(r.level2, r.name) for r in form.indicators] == [
        ("数量指标", "完成居民区工作数量"), ("社会效益指标", "提升辖区居民生活获得感"),
        ("可持续影响指标", "居民区党组织工作长效管理机制健全性")]


def test_qualitative_targets_outside_the_vocabulary_and_targets_printed_after_the_total():
    # `正常运转` is no word of the value vocabulary, but its actual is written 达成指标: a target.
    # The next row's target is printed after 总分 and 评分等级: the one value that row lacks.
    form = _form(("居委会运转情况",), ("正常运转",), ("达成指标",), ("12.00",), ("12.00",),
                 ("居民群众满意度",), ("85.00(%)",), ("12.00",), ("11.00",),
                 tail=_cells("总分", "评分等级", "≥85.00(%)", "100.00 99.83", "优"))
    assert [(r.name, r.target, r.actual, r.weight, r.score) for r in form.indicators] == [
        ("居委会运转情况", "正常运转", "达成指标", 12.0, 12.0), ("居民群众满意度", "≥85.00(%)", "85.00(%)", 12.0, 11.0)]
    assert (form.total_weight, form.total_score) == (100.0, 99.83)


def test_figures_printed_ahead_of_their_rows_and_fund_figures_beside_the_table():
    # 执行率 heads a fund column: the figures after it are the funds', not a row's. Six figures
    # alone after a complete row (its own two, then four) are the 分值/得分 of the next two, which hold
    # their values but no figure.
    form = _form(("执行率", "得分", "2,734,138.4", "10", "100.00%", "10"),
                 ("用户覆盖率 ≥48.00(个) 48.00(个)", "8.00", "8.00", "7.00", "6.00", "5.00", "4.00"),
                 ("系统建设工作完成率 100%", "达成指标"), ("系统建设工作合规率 ≥10.00(个) 100.00(个)",),
                 ("系统建设工作完成及时性 及时", "达成指标 1.00", "1.00"))
    assert [(r.name, r.target, r.weight, r.score) for r in form.indicators] == [
        ("用户覆盖率", "≥48.00(个)", 8.0, 8.0), ("系统建设工作完成率", "100%", 7.0, 6.0),
        ("系统建设工作合规率", "≥10.00(个)", 5.0, 4.0), ("系统建设工作完成及时性", "及时", 1.0, 1.0)]


def test_header_values_on_a_label_line_and_totals_that_do_not_read_100():
    # `计划开始日期 2024-01-01` and a unit's wrapped lines with `执行率(%)` under them are read
    # apart; 总分's figures are the two left before it when those after it do not read 100.
    text = HEAD.replace("实施单位\n\n某中心", "实施单位\n\n某街道社区党\n群服务中心\n执行率(%)")
    record = extract_text(text + _cells("书籍购置量 ≥100(册) 90(册)", "6.00", "5.40", "100", "92", "总分",
                                        "各村党员 1154", "人;居委党员 18", "评分等级", "优"), name="cells.txt")
    form = record.forms[0]
    assert form.implementing_unit == "某街道社区党群服务中心"
    assert (form.total_weight, form.total_score) == (100.0, 92.0)
    assert (form.indicators[0].name, form.indicators[0].weight, form.indicators[0].score) == ("书籍购置量", 6.0, 5.4)


def test_a_label_head_on_its_row_name_line_and_an_actual_written_before_its_target():
    form = _form(("用户覆盖率 ≥48.00(个) 48.00(个)", "8.00", "8.00"),
                 ("系统建设工作完成率质量 100%", "达成指标", "8.00", "8.00"), ("指标",),
                 ("使用人员满意度",), ("达成指标 10.00", "10.00"),
                 tail=_cells("总分", "评分等级", "90%", "100.00 100.00", "优"))
    assert [(r.level2, r.name) for r in form.indicators] == [
        ("数量指标", "用户覆盖率"), ("质量指标", "系统建设工作完成率"), ("质量指标", "使用人员满意度")]
    assert (form.indicators[2].target, form.indicators[2].actual) == ("90%", "达成指标")


def test_a_label_printed_before_rows_with_no_telling_words_heads_its_group():
    # No name says 社会效益 or 可持续影响: each group starts at the row its label stands before.
    form = _form(("参加组织赛事活动完成数 =50.00(次) 50.00(次)", "10.00", "10.00"), ("社会效益指标",),
                 ("提升辖区群众体育活动参与度 提升", "达成指标", "10.00", "10.00"),
                 ("设施设备完好率 ≥95.00(件) 98.00(件)", "10.00", "10.00"),
                 ("场地设施安全事故发生率 =0.00(件) 0.00(件)", "10.00", "10.00"), ("可持续影响指标",),
                 ("场地设施资产 健全有效", "达成指标", "10.00", "10.00"), ("服务对象满意度指标",),
                 ("受益群众满意度 ≥85.00(人次) 85.00(人次)", "10.00", "10.00"))
    assert [r.level2 for r in form.indicators] == [
        "数量指标", "社会效益指标", "社会效益指标", "社会效益指标", "可持续影响指标", "服务对象满意度指标"]


FUNDS_SCATTERED = _cells(
    "财政项目支出绩效自评表", "(2023", "年度)", "项目名称", "党群综合服务", "主管部门", "某街道办事处", "实施单位", "某中心",
    "项目资金", "（元）", "年初预算数", "全年预算数", "年度资金总额", "全年执行数", "925000.00", "815826.17",
    "其中：当年财政拨款", "925000", "上年结转资金", "0", "其他资金", "0\n0", "0", "分值", "815826.17", "执行率",
    "815,826.17\n815826.17", "—\n—", "预期目标", "实际完成情况", "得分", "10", "100.00%\n—", "10",
    "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "产出指标", "数量指标",
    "体检人数 =28人 =28人", "2", "2") + TAIL


def test_fund_figures_scattered_by_the_reading_order_are_placed_by_the_grids_arithmetic():
    # An unruled funds block read column by column and row by row at once: each row label
    # keeps its first figure; the rest fit the grid (column totals, 执行率 with %, 得分 <= 分值)
    # in one way only.
    form = extract_text(FUNDS_SCATTERED, name="cells.txt").forms[0]
    f = form.funds
    assert (f.total.initial_budget, f.total.annual_budget, f.total.executed, f.total.weight,
            f.total.execution_rate, f.total.score) == (925000.0, 815826.17, 815826.17, 10.0, 100.0, 10.0)
    assert (f.current_year.initial_budget, f.current_year.annual_budget, f.current_year.executed) == (
        925000.0, 815826.17, 815826.17)
    assert (f.carryover.initial_budget, f.carryover.annual_budget, f.carryover.executed) == (0.0, 0.0, None)
    assert (f.other.initial_budget, f.other.annual_budget, f.other.executed) == (0.0, 0.0, None)
    assert any(n.code == "stranded_fragment" and n.field == "funds" for n in form.notes)
    # a total that is not the sum of its rows: no placement keeps the arithmetic, none is guessed
    broken = extract_text(FUNDS_SCATTERED.replace("925000\n", "925001\n"), name="cells.txt").forms[0]
    assert broken.funds.total.initial_budget is None and broken.funds.current_year.annual_budget is None


def test_a_label_in_three_pieces_a_target_on_its_name_line_and_a_figure_before_the_totals():
    # `社会` / `效益` / `指标` stand apart among the rows; `长效管理机制健全性 健全且执行有效 达成指标`
    # holds a name and a qualitative target; the row's 得分 comes after 总分, before `100.00 95.65`.
    form = _form(("重大活动场次 >2.00(场次) 3.00(场次)", "30.00", "30.00"), ("社会",),
                 ("演出质量",), ("提升",), ("达成指标",), ("20.00",), ("18.00",), ("效益",), ("指标",),
                 tail=_cells("总分", "评分等级", "可持续影响指标 长效管理机制健全性 健全且执行有效 达成指标 20.00",
                             "18.00", "100.00 95.65", "优"))
    assert [(r.level2, r.name, r.target, r.actual, r.weight, r.score) for r in form.indicators] == [
        ("数量指标", "重大活动场次", ">2.00(场次)", "3.00(场次)", 30.0, 30.0), ("社会效益指标", "演出质量", "提升", "达成指标", 20.0, 18.0),
        ("可持续影响指标", "长效管理机制健全性", "健全且执行有效", "达成指标", 20.0, 18.0)]
    assert (form.total_weight, form.total_score) == (100.0, 95.65)


def _goals(*cells: str):
    text = HEAD.replace("一级指标", "\n\n".join(("预期目标", "实际完成情况", *cells, "一级指标")), 1)
    record = extract_text(text + _cells("书籍购置量 ≥100(册) 90(册)", "6.00", "5.40") + TAIL, name="cells.txt")
    form = record.forms[0]
    return form.goal_expected, form.goal_actual


def test_goal_texts_short_split_or_holding_a_figure_line():
    # A short goal (`厉行节约，预` / `算压减为 0`) is a goal; a goal's wrapped line holding a
    # figure (`包含 1023 号`) keeps its place in the text.
    assert _goals("建设款支付，\n包含 1023 号\n一到三层基础\n建设", "厉行节约，预\n算压减为 0") == (
        "建设款支付，包含1023号一到三层基础建设", "厉行节约，预算压减为0")


def test_two_goal_cells_in_one_block_are_split_at_the_first_line_ending_a_sentence():
    assert _goals("创新社会治理，完善基层社会治理体系。\n居委会经费主要用于保障办居委会日常办公和\n服务群众专项。") == (
        "创新社会治理，完善基层社会治理体系。", "居委会经费主要用于保障办居委会日常办公和服务群众专项。")


def test_a_narrow_name_holding_counts_and_a_name_after_its_label_wrapped_below_its_figure():
    # `保洁人员 3 人` / `保安人员 4 人` / `物业经理 1 人`: one name cell wrapped at its width, its
    # counts inside it. `经济效益 指标 不产生直接经济 0` / `效益`: the name's wrapped line below.
    form = _form(("保洁人员 3 人\n保安人员 4 人\n物业经理 1 人", "8人", "8人", "15", "15"),
                 ("经济效益 指标 不产生直接经济 0\n效益", "0", "0", "0"))
    assert [(r.level2, r.name, r.target, r.weight) for r in form.indicators] == [
        ("数量指标", "保洁人员3人保安人员4人物业经理1人", "8人", 15.0), ("经济效益指标", "不产生直接经济效益", "0", 0.0)]


DECLARATION = _cells(
    "财政项目支出绩效目标申报表", "(2024", "项目名称", "生活驿站运行经费", "年度)", "项目性质", "其他经常性项目", "主管部门",
    "某街道办事处", "实施单位", "某中心", "计划开始日期", "2024-01-01", "计划完成日期", "2024-12-31", "项目资金", "(元)",
    "项目资金总额", "年度资金申请总额", "296,000.00", "其中：当年财政拨款", "296,000.00", "上年结转资金", "0.00",
    "其他资金", "0.00", "项目类别", "项目总目标", "年度总体目标", "为了能让生活驿站正常运作，群众满意度均在90%以上。",
    "绩效指标", "一级指标", "二级指标", "年度(/项目)指标值", "效益指标", "社会效益指标 有责投诉率",
    "设施正常使用率\n可持续影响指标\n满意度指标", "三级指标", "<5.00(%)", "公益慈善活动参与率", "≥90.00(%)",
    "提升服务党员群众意识", "提升", "=100.00(%)", "长效管理机制健全性 建立健全", "服务对象满意度指标 群众满意度",
    "≥90.00(%)", "特定目标类")


def test_a_declarations_name_among_the_labels_its_year_and_category_printed_apart():
    # `设施正常使用率` stands in the block of labels: it takes the value left without a name
    # (`=100.00(%)`, after 提升). `(2024` under the title with `年度)` further on is the year;
    # the one cell of the category's grammar (`特定目标类`), printed after the table, its category.
    form = extract_text(DECLARATION, name="cells.txt").forms[0]
    assert [(r.name, r.target) for r in form.indicators] == [
        ("有责投诉率", "<5.00(%)"), ("公益慈善活动参与率", "≥90.00(%)"), ("提升服务党员群众意识", "提升"),
        ("设施正常使用率", "=100.00(%)"), ("长效管理机制健全性", "建立健全"), ("群众满意度", "≥90.00(%)")]
    assert (form.year, form.project_category) == (2024, "特定目标类")
    assert form.route.decision == "needs_review"


def test_a_declaration_row_printed_without_a_value_is_kept():
    text = DECLARATION.replace("提升服务党员群众意识\n\n提升", "促进经济、社会发展\n\n提升服务党员群众意识\n\n提升")
    form = extract_text(text, name="cells.txt").forms[0]
    names = [r.name for r in form.indicators]
    assert "促进经济、社会发展" in names
    assert form.indicators[names.index("促进经济、社会发展")].target is None
    assert any(n.code == "not_found" and n.field == f"indicators[{names.index('促进经济、社会发展')}].target"
               for n in form.notes)


def test_labels_printed_together_place_only_the_first_group_by_their_place():
    # 社会效益指标 and 可持续影响指标 stand in one block before the first 效益 row: the cut
    # between them is the rows' words (长效, 机制), not the block's place.
    form = _form(("设施维修完成率 =100.00(%) 100.00(%)", "10", "10"),
                 ("社会效益指标\n可持续影响指标",), ("有责投诉率 <5.00(%) 1.00(%)", "10", "10"),
                 ("公益慈善活动参与率 ≥90.00(%) 95.00(%)", "10", "10"), ("提升服务党员群众意识 提升", "达成指标", "10", "10"),
                 ("设施正常使用率 =100.00(%) 100.00(%)", "10", "10"), ("长效管理机制健全性 建立健全", "达成指标", "10", "10"))
    assert [r.level2 for r in form.indicators] == ["数量指标", *["社会效益指标"] * 4, "可持续影响指标"]
