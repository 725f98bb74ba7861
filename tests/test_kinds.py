"""The template's kinds of indicator (taxonomy.py): which 二级 a row's words and value fit, and the
boundary between two groups they decide, on rows written here (no seed's text)."""

from jixiao import taxonomy as kinds


def _row(name, target, actual=None):
    return name, (target, actual)


COUNTS = [_row("培训班举办场次", "≥6.00(场)"), _row("宣传手册印制数量", "≥500.00(册)"),
          _row("志愿者服务人次", "≥800.00(人次)")]


def test_a_row_fits_the_kind_of_its_name_or_value():
    assert kinds.fits("数量指标", *_row("入户走访", "≥120(户)"))  # a plain count unit
    assert not kinds.fits("数量指标", *_row("讲师配备标准", "=2.00(名/班)"))  # a ratio is not a count
    assert kinds.fits("质量指标", *_row("讲师配备标准", "=2.00(名/班)"))
    assert kinds.fits("时效指标", *_row("资金拨付", "11月底前"))  # a deadline
    assert kinds.fits("时效指标", *_row("办结时长", "≤15(个工作日)"))
    assert kinds.fits("成本指标", *_row("人均培训支出", "≤300(元)"))
    assert kinds.fits("社会效益指标", *_row("居民知晓率", "≥85%"))
    assert kinds.fits("经济效益指标", *_row("带动农户增收", "提升"))
    assert kinds.fits("可持续影响指标", *_row("运维机制", "建立健全"))
    # A bare rate fits no 二级 on its own: 完成率 is printed under 数量 as often as under 质量.
    assert not any(kinds.fits(label, *_row("任务完成率", "=100.00(%)")) for label in kinds.KINDS)
    assert kinds.unit_of("=100.00 (%)") == "%" and kinds.unit_of(">=1200人") == "人"
    assert kinds.unit_of("达成指标") is None


def test_the_boundary_lies_between_the_last_row_of_one_kind_and_the_first_of_the_other():
    rows = COUNTS + [_row("讲师配备标准", "=2.00(名/班)"), _row("任务完成率", "=100.00(%)")]
    after = [_row("课程考核合格率", "≥95.00(%)")]
    assert kinds.boundary(rows, "数量指标", "质量指标", 1, after) == 3
    # The other way round: two 效益 groups, told apart by their words.
    rows = [_row("拉动消费", "提升"), _row("带动企业营收", "≥5.00(万元)"), _row("群众参与率", "≥60.00(%)"),
            _row("服务覆盖社区数", "≥12.00(个)")]
    assert kinds.boundary(rows, "经济效益指标", "社会效益指标", 1, [_row("居民知晓率", "≥85%")]) == 2


def test_rows_all_of_the_kind_above_stay_above():
    assert kinds.boundary(COUNTS, "数量指标", "质量指标", 1, [_row("课程考核合格率", "≥95.00(%)")]) == 3


def test_no_boundary_where_the_words_leave_rows_open_or_contradict_the_layout():
    undecided = COUNTS + [_row("任务完成率", "=100.00(%)"), _row("讲师配备标准", "=2.00(名/班)")]
    assert kinds.boundary(undecided, "数量指标", "质量指标", 1, []) is None  # the 完成率 row could be either
    mixed = COUNTS + [_row("讲师配备标准", "=2.00(名/班)"), _row("结业人数", "≥40.00(人)")]
    assert kinds.boundary(mixed, "数量指标", "质量指标", 1, []) is None  # a count after a standard
    nothing = [_row("任务完成率", "=100.00(%)"), _row("工作推进率", "=100.00(%)")]
    assert kinds.boundary(nothing, "数量指标", "质量指标", 1, []) is None
    # A row the layout is sure of that reads as the other kind: on this form the words do not
    # tell the two groups apart.
    sure = [_row("设施完好率", "=100.00(%)"), *COUNTS, _row("讲师配备标准", "=2.00(名/班)")]
    assert kinds.boundary(sure, "数量指标", "质量指标", 2, []) is None
    assert kinds.boundary(COUNTS + [_row("讲师配备标准", "=2.00(名/班)")], "数量指标", "质量指标", 1,
                          [_row("年度培训场次", "≥2.00(场)")]) is None
    # Rows the layout keeps above (before `first`) are never the kind below's start.
    assert kinds.boundary([*COUNTS[:1], _row("讲师配备标准", "=2.00(名/班)"), _row("任务完成率", "=100%")],
                          "数量指标", "质量指标", 2, []) is None
