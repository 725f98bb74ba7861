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


def _rows(*rows: tuple[str, ...]) -> list:
    record = extract_text(HEAD + "".join(_cells(*row) for row in rows) + TAIL, name="cells.txt")
    assert len(record.forms) == 1
    form = record.forms[0]
    assert any(n.code == "cell_sequence" for n in form.notes) and form.route.decision == "needs_review"
    return form.indicators


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
