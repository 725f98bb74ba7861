"""The rules of VALIDATION.md §1–6 as pure functions: a form's values in, findings out.

Every rule reads values and never changes one; a value that is missing skips the rule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ..backends.rules.taxonomy import LEVEL1, LEVEL2
from ..schema import Finding
from .values import MET_WORDS, Indicator, Values, parse_indicator

FUND_ROWS = ("total", "current_year", "carryover", "other")
ROW_LABELS = {"total": "年度资金总额", "current_year": "当年财政拨款", "carryover": "上年结转资金", "other": "其他资金"}
NATURES = {"一次性项目", "经常性项目", "其他经常性项目", "阶段性项目"}
CATEGORIES = {"特定目标类", "其他运转类", "运转类", "人员类", "公用经费"}
_QUALITATIVE_BANDS = (("达成年度指标", 0.8, 1.0), ("部分达成年度指标并具有一定效果", 0.6, 0.8),
                      ("未达成年度指标且效果较差", 0.0, 0.6))


def _f(code, severity, zh, en, fields, values, expected=None, tolerance=None) -> Finding:
    return Finding(code=code, severity=severity, message=f"{zh} / {en}", fields=list(fields),
                   values=dict(values), expected=expected, tolerance=tolerance)


def _num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _r(x: float, d: int = 4) -> float:
    return round(x, d)


def half_up(x: float, d: int) -> float:
    """Rounded half away from zero, as forms round (Python's round() goes to even)."""
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP))


# --- §1 funds of a self-evaluation ----------------------------------------------------------

def se_f1_execution_rate(v: Values) -> Iterator[Finding]:
    for row in FUND_ROWS:
        b_path, e_path, r_path = (f"funds.{row}.{c}" for c in ("annual_budget", "executed", "execution_rate"))
        b, e, r = v.get(b_path), v.get(e_path), v.get(r_path)
        if not _num(r):
            continue
        if not _num(b) or b == 0:
            if r not in (0, None):
                yield _f("SE-F1", "info", f"{ROW_LABELS[row]}全年预算数为空或为0，但执行率为{r}",
                         f"{row}: no full-year budget but an execution rate of {r}", [b_path, r_path],
                         {b_path: b, r_path: r})
            continue
        if not _num(e):
            continue
        db, de, dr = v.half_unit(b_path), v.half_unit(e_path), v.half_unit(r_path)
        rmin, rmax = (e - de) / (b + db) * 100, (e + de) / max(b - db, 1e-12) * 100
        gap = max(rmin - (r + dr), (r - dr) - rmax, 0.0)
        if gap <= 1e-9:
            continue
        unit = 2 * dr
        severity = "warning" if gap <= unit + 1e-9 else "error"
        yield _f("SE-F1", severity,
                 f"{ROW_LABELS[row]}执行率{r}%与全年执行数/全年预算数={_r(e / b * 100, 2)}%不符",
                 f"{row}: execution rate {r}% but executed/budget = {e}/{b} = {_r(e / b * 100, 2)}%",
                 [r_path, e_path, b_path], {r_path: r, e_path: e, b_path: b}, expected=_r(e / b * 100),
                 tolerance=_r(dr + (rmax - rmin) / 2, 6))


def se_f2_execution_score(v: Values) -> Iterator[Finding]:
    b, e, w, s, r = (v.get(f"funds.total.{c}") for c in ("annual_budget", "executed", "weight", "score",
                                                        "execution_rate"))
    if not all(_num(x) for x in (b, e, w, s)) or b == 0:
        return
    paths = ["funds.total.score", "funds.total.executed", "funds.total.annual_budget", "funds.total.weight"]
    values = {p: v.get(p) for p in paths}
    if e > b:
        yield _f("SE-F2", "warning", "执行率超过100%", "executed exceeds the full-year budget (rate above 100%)",
                 paths[1:3], values)
    exact = min(e / b * 100, 100.0)
    expected = exact / 100 * w
    ds = v.decimals("funds.total.score")
    db, de = v.half_unit("funds.total.annual_budget"), v.half_unit("funds.total.executed")
    spread = ((e + de) / max(b - db, 1e-12) - (e - de) / (b + db)) * 100
    tolerance = 0.5 * 10 ** -ds + w * spread / 200
    from_printed = _num(r) and half_up(min(r, 100) / 100 * w, ds) == half_up(s, ds)
    gap = abs(s - expected) - tolerance
    if gap <= 1e-9 or from_printed:
        return
    severity = "warning" if gap <= 10 ** -ds + 1e-9 else "error"
    yield _f("SE-F2", severity, f"预算执行得分{s}与执行率×分值={_r(expected, 2)}不符",
             f"budget-execution score {s} but rate × weight = {_r(expected, 2)}", paths, values,
             expected=_r(expected), tolerance=_r(tolerance, 6))


def se_f3_execution_weight(v: Values) -> Iterator[Finding]:
    w = v.get("funds.total.weight")
    if _num(w) and abs(w - 10) > 1e-9:
        yield _f("SE-F3", "warning", f"预算执行率分值为{w}，一般应为10", f"budget-execution weight is {w}, normally 10",
                 ["funds.total.weight"], {"funds.total.weight": w}, expected=10)
    for row in ("current_year", "carryover", "other"):
        for col in ("weight", "score"):
            path = f"funds.{row}.{col}"
            if _num(v.get(path)):
                yield _f("SE-F3", "info", f"{ROW_LABELS[row]}行填写了{'分值' if col == 'weight' else '得分'}（通常为—）",
                         f"{row} row repeats a {col} (normally —); it is not added to the total", [path],
                         {path: v.get(path)})


def _sum_check(v: Values, code: str, total_path: str, part_paths: list[str], zh: str, en: str) -> Iterator[Finding]:
    total = v.get(total_path)
    parts = [v.get(p) for p in part_paths]
    if not _num(total) or not any(_num(p) for p in parts):
        return
    s = sum(p for p in parts if _num(p))
    tolerance = v.half_unit(total_path) + sum(v.half_unit(p) for p, x in zip(part_paths, parts) if _num(x))
    if abs(total - s) > tolerance + 1e-9:
        yield _f(code, "error", f"{zh}：合计{total}，分项之和{_r(s, 6)}", f"{en}: total {total}, parts sum to {_r(s, 6)}",
                 [total_path, *part_paths], {total_path: total, **dict(zip(part_paths, parts))},
                 expected=_r(s, 6), tolerance=_r(tolerance, 6))


def se_f4_fund_sum(v: Values) -> Iterator[Finding]:
    for col in ("initial_budget", "annual_budget", "executed"):
        yield from _sum_check(v, "SE-F4", f"funds.total.{col}", [f"funds.{r}.{col}" for r in FUND_ROWS[1:]],
                              "年度资金总额≠当年财政拨款+上年结转资金+其他资金",
                              f"年度资金总额 ≠ sum of its parts ({col})")


def se_f5_amounts(v: Values) -> Iterator[Finding]:
    for row in FUND_ROWS:
        for col in ("initial_budget", "annual_budget", "executed"):
            path = f"funds.{row}.{col}"
            x = v.get(path)
            if _num(x) and x < 0:
                yield _f("SE-F5", "error", f"金额为负数：{x}", f"negative amount {x}", [path], {path: x})
        b, e = v.get(f"funds.{row}.annual_budget"), v.get(f"funds.{row}.executed")
        if row != "total" and _num(b) and _num(e) and e > b:
            paths = [f"funds.{row}.executed", f"funds.{row}.annual_budget"]
            yield _f("SE-F5", "warning", f"{ROW_LABELS[row]}执行数超过预算数", f"{row}: executed exceeds the budget",
                     paths, {paths[0]: e, paths[1]: b})


def se_f6_low_execution(v: Values) -> Iterator[Finding]:
    r = v.get("funds.total.execution_rate")
    if _num(r) and r < 90 and not any(i.deviation for i in v.form.indicators):
        yield _f("SE-F6", "info", f"执行率{r}%低于90%，表中无偏差原因说明",
                 f"execution rate {r}% is below 90% and the form gives no reason", ["funds.total.execution_rate"],
                 {"funds.total.execution_rate": r})


# --- §2 indicator table, totals, grade -------------------------------------------------------

def _indicator_paths(v: Values, field: str) -> list[str]:
    return [f"indicators[{i}].{field}" for i, _ in enumerate(v.form.indicators)]


def se_t1_weights(v: Values) -> Iterator[Finding]:
    tw = v.get("total_weight")
    if not _num(tw):
        return
    if abs(tw - 100) > 1e-9:
        yield _f("SE-T1", "warning", f"总分分值为{tw}，一般为100", f"total weight is {tw}, normally 100",
                 ["total_weight"], {"total_weight": tw}, expected=100)
    yield from _total_check(v, "SE-T1", "total_weight", "funds.total.weight", "weight", "分值", "weights")


def se_t2_scores(v: Values) -> Iterator[Finding]:
    yield from _total_check(v, "SE-T2", "total_score", "funds.total.score", "score", "得分", "scores")


def _total_check(v: Values, code, total_path, funds_path, field, zh, en) -> Iterator[Finding]:
    total = v.get(total_path)
    paths = [funds_path, *_indicator_paths(v, field)]
    parts = [v.get(p) for p in paths]
    if not _num(total) or not any(_num(p) for p in parts):
        return
    s = sum(p for p in parts if _num(p))
    # Forms add the printed parts, so the total is out by at most its own rounding and one
    # part's; VALIDATION.md's Σ over every part grows with the row count until, on a 40-row
    # table of whole points, it would let a 20-point error through.
    tolerance = v.half_unit(total_path) + max(v.half_unit(p) for p, x in zip(paths, parts) if _num(x))
    if abs(total - s) > tolerance + 1e-9:
        yield _f(code, "error", f"总分{zh}{total}与各项{zh}之和{_r(s, 4)}不符",
                 f"total {en} {total} but the {en} sum to {_r(s, 4)}", [total_path, *paths],
                 {total_path: total, **{p: x for p, x in zip(paths, parts)}}, expected=_r(s, 6),
                 tolerance=_r(tolerance, 6))


def se_t3_shares(v: Values) -> Iterator[Finding]:
    dept = v.form.supervising_dept or ""
    if "上海" in dept or not v.form.indicators:
        return  # Shanghai forms set their own 一级 shares as a matter of course
    shares: dict[str, float] = {}
    for row in v.form.indicators:
        if _num(row.weight):
            shares[row.level1 or "?"] = shares.get(row.level1 or "?", 0) + row.weight
    default = {"产出指标": 50, "效益指标": 30, "满意度指标": 10}
    if any(abs(shares.get(k, 0) - w) > 1e-6 for k, w in default.items()):
        yield _f("SE-T3", "info", "一级指标权重与默认的产出50/效益30/满意度10不同",
                 "一级 weight shares differ from the default 50/30/10", ["indicators"],
                 {k: _r(s) for k, s in shares.items()}, expected=default)


def se_i1_score_range(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        w, s = row.weight, row.score
        if _num(s) and (s < 0 or (_num(w) and s > w + 1e-9)):
            paths = [f"indicators[{i}].score", f"indicators[{i}].weight"]
            yield _f("SE-I1", "error", f"指标“{row.name}”得分{s}不在0到分值{w}之间",
                     f"indicator {row.name}: score {s} outside 0..weight {w}", paths, {paths[0]: s, paths[1]: w})


def _expected_score(t: Indicator, a: Indicator, w: float) -> float | None:
    """PMKPI's scoring of a quantitative indicator, or None where it does not apply."""
    tv, av = t.number, a.number
    if t.op in ("≤", "<"):
        if tv <= 0:
            return None
        met = av < tv if t.op == "<" else av <= tv
        if met:
            return w
        return 0.0 if av >= 2 * tv else round((1 - (av - tv) / tv) * w, 2)
    if t.op == "=" and tv == 0:
        return w if av <= 0 else 0.0
    if tv <= 0:
        return None
    met = av > tv if t.op == ">" else av >= tv
    return w if met else round(av / tv * w, 2)


def _same_unit(t: Indicator, a: Indicator) -> bool:
    norm = lambda u: (u or "").replace("％", "%")  # noqa: E731
    return not t.unit or not a.unit or norm(t.unit) == norm(a.unit)


def _met(row) -> bool | None:
    """Whether an indicator met its target: True, False, or None when that cannot be told."""
    t, a = parse_indicator(row.target), parse_indicator(row.actual)
    if t is None or a is None:
        return None
    if t.quantitative and a.quantitative and _same_unit(t, a):
        expected = _expected_score(t, a, 1.0)
        return None if expected is None else expected >= 1.0
    if not t.quantitative:
        return a.text in MET_WORDS or a.text == t.text
    return None


def se_i2_quantitative(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        t, a = parse_indicator(row.target), parse_indicator(row.actual)
        if not (t and a and t.quantitative and a.quantitative) or not _num(row.weight) or not _num(row.score):
            continue
        if not _same_unit(t, a) or (row.weight == 0 and t.number == 0):
            continue
        expected = _expected_score(t, a, row.weight)
        if expected is None:
            continue
        paths = [f"indicators[{i}].score", f"indicators[{i}].target", f"indicators[{i}].actual",
                 f"indicators[{i}].weight"]
        values = {paths[0]: row.score, paths[1]: row.target, paths[2]: row.actual, paths[3]: row.weight}
        tolerance = max(0.01, v.half_unit(paths[0]))
        if expected < row.weight and row.score >= row.weight - 1e-9:
            yield _f("SE-I2b", "warning", f"指标“{row.name}”未完成目标（{row.actual}对{row.target}）却得满分",
                     f"indicator {row.name}: target not met ({row.actual} vs {row.target}) but full score",
                     paths, values, expected=expected)
        elif expected == row.weight and row.score < row.weight - tolerance:
            yield _f("SE-I2", "info", f"指标“{row.name}”已完成目标但未得满分（可能因超额适度调减）",
                     f"indicator {row.name}: target met but score below weight (over-achievement deduction?)",
                     paths, values, expected=expected)
        elif abs(row.score - expected) > tolerance + 1e-9:
            yield _f("SE-I2", "warning", f"指标“{row.name}”得分{row.score}与按完成比例计分{expected}不符",
                     f"indicator {row.name}: score {row.score}, proportional scoring gives {expected}",
                     paths, values, expected=expected, tolerance=tolerance)


def se_i3_qualitative(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        a = parse_indicator(row.actual)
        if a is None or a.quantitative or not _num(row.weight) or not _num(row.score) or row.weight == 0:
            continue
        band = next(((lo, hi) for word, lo, hi in _QUALITATIVE_BANDS if a.text == word), None)
        if band is None and (a.text in MET_WORDS or a.text == compact_target(row.target)):
            band = (0.8, 1.0)
        if band is None:
            continue
        lo, hi = round(band[0] * row.weight, 2), round(band[1] * row.weight, 2)
        top_open = band[1] < 1.0
        if row.score < lo - 1e-9 or row.score > hi + 1e-9 or (top_open and row.score >= hi - 1e-9):
            paths = [f"indicators[{i}].score", f"indicators[{i}].actual", f"indicators[{i}].weight"]
            yield _f("SE-I3", "warning", f"定性指标“{row.name}”（{row.actual}）得分{row.score}不在{lo}–{hi}区间",
                     f"qualitative indicator {row.name} ({row.actual}): score {row.score} outside {lo}–{hi}",
                     paths, {paths[0]: row.score, paths[1]: row.actual, paths[2]: row.weight}, expected=[lo, hi])


def compact_target(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


def se_i4_deviation(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        if row.deviation:
            continue
        met = _met(row)
        lost = _num(row.weight) and _num(row.score) and row.score < row.weight - 1e-9
        paths = [f"indicators[{i}].deviation", f"indicators[{i}].score", f"indicators[{i}].weight"]
        if met is False or lost:
            yield _f("SE-I4", "warning", f"指标“{row.name}”未完全达成或失分，但无偏差原因分析",
                     f"indicator {row.name}: not fully achieved or lost points, but no deviation note",
                     paths, {paths[1]: row.score, paths[2]: row.weight})
            continue
        t, a = parse_indicator(row.target), parse_indicator(row.actual)
        if t and a and t.quantitative and a.quantitative and t.op in ("≥", ">", "=") and t.number and \
                _same_unit(t, a) and a.number >= 1.3 * t.number:
            yield _f("SE-I4", "info", f"指标“{row.name}”完成值远高于指标值（{row.actual}对{row.target}），未说明原因",
                     f"indicator {row.name}: actual far above target ({row.actual} vs {row.target}) with no note",
                     [paths[0], f"indicators[{i}].actual", f"indicators[{i}].target"],
                     {f"indicators[{i}].actual": row.actual, f"indicators[{i}].target": row.target})


def se_g1_grade(v: Values) -> Iterator[Finding]:
    g, s = v.form.grade, v.get("total_score")
    if g is None:
        return
    if g not in ("优", "良", "中", "差"):
        yield _f("SE-G1", "warning", f"评分等级“{g}”不是优/良/中/差", f"grade '{g}' is not one of 优/良/中/差",
                 ["grade"], {"grade": g})
        return
    if not _num(s):
        return
    expected = "优" if s >= 90 else "良" if s >= 80 else "中" if s >= 60 else "差"
    if g != expected:
        yield _f("SE-G1", "error", f"总分{s}应评为“{expected}”，表上为“{g}”", f"total score {s} means '{expected}', the form says '{g}'",
                 ["grade", "total_score"], {"grade": g, "total_score": s}, expected=expected)


# --- §3 indicator value grammar, §4 taxonomy, §5 units (both kinds) ---------------------------

def v_grammar(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        t = parse_indicator(row.target)
        a = parse_indicator(getattr(row, "actual", None))
        if t and a and t.quantitative and a.quantitative and t.unit and a.unit and not _same_unit(t, a):
            paths = [f"indicators[{i}].target", f"indicators[{i}].actual"]
            yield _f("SE-V1", "warning", f"指标“{row.name}”指标值与完成值单位不同", f"indicator {row.name}: target and actual units differ",
                     paths, {paths[0]: row.target, paths[1]: row.actual})
        if t and t.quantitative and t.op and not t.unit:
            path = f"indicators[{i}].target"
            yield _f("SE-V2", "info", f"指标“{row.name}”定量指标值没有计量单位", f"indicator {row.name}: quantitative target has no unit",
                     [path], {path: row.target})
        if t and t.quantitative and t.unit and (row.name or "").endswith(("率", "度")) and t.unit not in ("%", "％"):
            path = f"indicators[{i}].target"
            yield _f("SE-V3", "info", f"指标“{row.name}”名称为比率但单位为“{t.unit}”",
                     f"indicator {row.name} reads as a rate but its unit is '{t.unit}'", [path], {path: row.target})


def taxonomy(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        l1, l2 = row.level1, row.level2
        p1, p2 = f"indicators[{i}].level1", f"indicators[{i}].level2"
        if l1 and l1 not in LEVEL1:
            severity = "info" if l1 + "指标" in LEVEL1 else "warning"
            yield _f("TAX-1", severity, f"未知的一级指标“{l1}”", f"unknown 一级 label '{l1}'", [p1], {p1: l1})
        if l2 and l2 not in LEVEL2:
            severity = "info" if l2 + "指标" in LEVEL2 else "warning"
            yield _f("TAX-2", severity, f"未知的二级指标“{l2}”", f"unknown 二级 label '{l2}'", [p2], {p2: l2})
        elif l2 and l1 in LEVEL1 and l1 not in LEVEL2[l2]:
            yield _f("TAX-3", "warning", f"二级指标“{l2}”不属于一级指标“{l1}”", f"二级 '{l2}' does not belong under '{l1}'",
                     [p1, p2], {p1: l1, p2: l2})


def units(v: Values) -> Iterator[Finding]:
    unit = v.form.amount_unit
    if unit is None:
        yield _f("U1", "warning", "未找到金额单位（元/万元）", "no amount unit (元/万元) found", ["amount_unit"], {})
        return
    amounts = [(p, x) for p, x in _amounts(v) if _num(x)]
    if unit == "万元" and any(x >= 1_000_000 for _, x in amounts):
        p, x = max(amounts, key=lambda px: px[1])
        yield _f("U2", "info", f"单位为万元但金额达{x}", f"unit is 万元 but an amount is {x}", ["amount_unit", p],
                 {"amount_unit": unit, p: x})
    if unit == "元" and amounts and all(x < 100 for _, x in amounts) and any(x for _, x in amounts):
        yield _f("U2", "info", "单位为元但所有金额都小于100", "unit is 元 but every amount is below 100", ["amount_unit"],
                 {"amount_unit": unit})


def _amounts(v: Values):
    funds = v.form.funds.model_dump()
    for key, value in funds.items():
        if isinstance(value, dict):
            for col in ("initial_budget", "annual_budget", "executed"):
                yield f"funds.{key}.{col}", value.get(col)
        else:
            yield f"funds.{key}", value


# --- §6 target declarations -----------------------------------------------------------------

_REQUIRED = ("project_name", "project_nature", "project_category", "supervising_dept", "implementing_unit",
             "planned_start", "planned_end", "amount_unit", "funds.annual_total", "goal_annual")


def td_r1_required(v: Values) -> Iterator[Finding]:
    for path in _REQUIRED:
        if v.get(path) in (None, ""):
            yield _f("TD-R1", "warning", f"必填项{path}为空", f"required field {path} is blank", [path], {path: None})
    if not v.form.indicators:
        yield _f("TD-R1", "warning", "没有绩效指标", "no indicators", ["indicators"], {})
    for i, row in enumerate(v.form.indicators):
        if not row.target:
            path = f"indicators[{i}].target"
            yield _f("TD-R1", "warning", f"指标“{row.name}”没有指标值", f"indicator {row.name} has no target", [path],
                     {path: None})


def td_f1_annual_sum(v: Values) -> Iterator[Finding]:
    yield from _sum_check(v, "TD-F1", "funds.annual_total",
                          ["funds.annual_current_year", "funds.annual_carryover", "funds.annual_other"],
                          "年度资金申请总额≠当年财政拨款+上年结转资金+其他资金", "年度资金申请总额 ≠ sum of its parts")


def td_f2_project_sum(v: Values) -> Iterator[Finding]:
    if _num(v.get("funds.project_total")):
        yield from _sum_check(v, "TD-F2", "funds.project_total", ["funds.project_fiscal", "funds.project_other"],
                              "项目资金总额≠财政资金+其他资金", "项目资金总额 ≠ 财政资金 + 其他资金")


def td_f3_project_covers_year(v: Values) -> Iterator[Finding]:
    p, a = v.get("funds.project_total"), v.get("funds.annual_total")
    if _num(p) and _num(a) and p < a:
        paths = ["funds.project_total", "funds.annual_total"]
        yield _f("TD-F3", "warning", f"项目资金总额{p}小于年度资金申请总额{a}", f"project total {p} is below the annual request {a}",
                 paths, {paths[0]: p, paths[1]: a})


def td_d1_dates(v: Values) -> Iterator[Finding]:
    start, end = _date(v.form.planned_start), _date(v.form.planned_end)
    paths = ["planned_start", "planned_end"]
    values = {"planned_start": v.form.planned_start, "planned_end": v.form.planned_end}
    if start and end and start > end:
        yield _f("TD-D1", "error", "计划开始日期晚于计划完成日期", "planned start is after planned end", paths, values)
    year = v.form.year
    recurring = "经常性" in (v.form.project_nature or "")
    if year and recurring and any(d and d.year != year for d in (start, end)):
        yield _f("TD-D1", "info", f"经常性项目的计划日期超出{year}年度", f"a recurring project's dates fall outside {year}",
                 paths, values)


def _date(text: str | None) -> date | None:
    m = re.match(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})", text or "")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None
    except ValueError:
        return None


def td_e_enums(v: Values) -> Iterator[Finding]:
    nature, category = v.form.project_nature, v.form.project_category
    if nature and nature not in NATURES:
        yield _f("TD-E1", "warning", f"未知的项目性质“{nature}”", f"unknown 项目性质 '{nature}'", ["project_nature"],
                 {"project_nature": nature})
    if category:
        key = category.replace("其它", "其他").removesuffix("项目")
        if key not in CATEGORIES and key.removeprefix("其他") not in CATEGORIES:
            yield _f("TD-E2", "warning", f"未知的项目类别“{category}”", f"unknown 项目类别 '{category}'",
                     ["project_category"], {"project_category": category})


SELF_EVALUATION_RULES = (se_f1_execution_rate, se_f2_execution_score, se_f3_execution_weight, se_f4_fund_sum,
                         se_f5_amounts, se_f6_low_execution, se_t1_weights, se_t2_scores, se_t3_shares,
                         se_i1_score_range, se_i2_quantitative, se_i3_qualitative, se_i4_deviation, se_g1_grade,
                         v_grammar, taxonomy, units)
TARGET_DECLARATION_RULES = (td_r1_required, td_f1_annual_sum, td_f2_project_sum, td_f3_project_covers_year,
                            td_d1_dates, td_e_enums, v_grammar, taxonomy, units)
