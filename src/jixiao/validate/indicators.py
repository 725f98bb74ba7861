"""Indicator rows: scores against achievement (§2), value grammar (§3), taxonomy (§4),
amount units (§5)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..taxonomy import LEVEL1, LEVEL2
from ..schema import Finding
from ..units import disagreement, stated_units
from .common import finding, is_num
from .values import MET_WORDS, Indicator, Values, parse_indicator

QUALITATIVE_BANDS = (("达成年度指标", 0.8, 1.0), ("部分达成年度指标并具有一定效果", 0.6, 0.8),
                      ("未达成年度指标且效果较差", 0.0, 0.6))

def se_i1_score_range(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        w, s = row.weight, row.score
        if is_num(s) and (s < 0 or (is_num(w) and s > w + 1e-9)):
            paths = [f"indicators[{i}].score", f"indicators[{i}].weight"]
            yield finding("SE-I1", "error", f"指标“{row.name}”得分{s}不在0到分值{w}之间",
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
        if not (t and a and t.quantitative and a.quantitative) or not is_num(row.weight) or not is_num(row.score):
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
            yield finding("SE-I2b", "warning", f"指标“{row.name}”未完成目标（{row.actual}对{row.target}）却得满分",
                     f"indicator {row.name}: target not met ({row.actual} vs {row.target}) but full score",
                     paths, values, expected=expected)
        elif expected == row.weight and row.score < row.weight - tolerance:
            yield finding("SE-I2", "info", f"指标“{row.name}”已完成目标但未得满分（可能因超额适度调减）",
                     f"indicator {row.name}: target met but score below weight (over-achievement deduction?)",
                     paths, values, expected=expected)
        elif abs(row.score - expected) > tolerance + 1e-9:
            yield finding("SE-I2", "warning", f"指标“{row.name}”得分{row.score}与按完成比例计分{expected}不符",
                     f"indicator {row.name}: score {row.score}, proportional scoring gives {expected}",
                     paths, values, expected=expected, tolerance=tolerance)


def se_i3_qualitative(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        a = parse_indicator(row.actual)
        if a is None or a.quantitative or not is_num(row.weight) or not is_num(row.score) or row.weight == 0:
            continue
        band = next(((lo, hi) for word, lo, hi in QUALITATIVE_BANDS if a.text == word), None)
        if band is None and (a.text in MET_WORDS or a.text == compact_target(row.target)):
            band = (0.8, 1.0)
        if band is None:
            continue
        lo, hi = round(band[0] * row.weight, 2), round(band[1] * row.weight, 2)
        top_open = band[1] < 1.0
        if row.score < lo - 1e-9 or row.score > hi + 1e-9 or (top_open and row.score >= hi - 1e-9):
            paths = [f"indicators[{i}].score", f"indicators[{i}].actual", f"indicators[{i}].weight"]
            yield finding("SE-I3", "warning", f"定性指标“{row.name}”（{row.actual}）得分{row.score}不在{lo}–{hi}区间",
                     f"qualitative indicator {row.name} ({row.actual}): score {row.score} outside {lo}–{hi}",
                     paths, {paths[0]: row.score, paths[1]: row.actual, paths[2]: row.weight}, expected=[lo, hi])


def compact_target(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


def se_i4_deviation(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        if row.deviation:
            continue
        met = _met(row)
        lost = is_num(row.weight) and is_num(row.score) and row.score < row.weight - 1e-9
        paths = [f"indicators[{i}].deviation", f"indicators[{i}].score", f"indicators[{i}].weight"]
        if met is False or lost:
            yield finding("SE-I4", "warning", f"指标“{row.name}”未完全达成或失分，但无偏差原因分析",
                     f"indicator {row.name}: not fully achieved or lost points, but no deviation note",
                     paths, {paths[1]: row.score, paths[2]: row.weight})
            continue
        t, a = parse_indicator(row.target), parse_indicator(row.actual)
        if t and a and t.quantitative and a.quantitative and t.op in ("≥", ">", "=") and t.number and \
                _same_unit(t, a) and a.number >= 1.3 * t.number:
            yield finding("SE-I4", "info", f"指标“{row.name}”完成值远高于指标值（{row.actual}对{row.target}），未说明原因",
                     f"indicator {row.name}: actual far above target ({row.actual} vs {row.target}) with no note",
                     [paths[0], f"indicators[{i}].actual", f"indicators[{i}].target"],
                     {f"indicators[{i}].actual": row.actual, f"indicators[{i}].target": row.target})


# --- §3 indicator value grammar, §4 taxonomy, §5 units (both kinds) ---------------------------

def v_grammar(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        t = parse_indicator(row.target)
        a = parse_indicator(getattr(row, "actual", None))
        if t and a and t.quantitative and a.quantitative and t.unit and a.unit and not _same_unit(t, a):
            paths = [f"indicators[{i}].target", f"indicators[{i}].actual"]
            yield finding("SE-V1", "warning", f"指标“{row.name}”指标值与完成值单位不同", f"indicator {row.name}: target and actual units differ",
                     paths, {paths[0]: row.target, paths[1]: row.actual})
        if t and t.quantitative and t.op and not t.unit:
            path = f"indicators[{i}].target"
            yield finding("SE-V2", "info", f"指标“{row.name}”定量指标值没有计量单位", f"indicator {row.name}: quantitative target has no unit",
                     [path], {path: row.target})
        if t and t.quantitative and t.unit and (row.name or "").endswith(("率", "度")) and t.unit not in ("%", "％"):
            path = f"indicators[{i}].target"
            yield finding("SE-V3", "info", f"指标“{row.name}”名称为比率但单位为“{t.unit}”",
                     f"indicator {row.name} reads as a rate but its unit is '{t.unit}'", [path], {path: row.target})


def taxonomy(v: Values) -> Iterator[Finding]:
    for i, row in enumerate(v.form.indicators):
        l1, l2 = row.level1, row.level2
        p1, p2 = f"indicators[{i}].level1", f"indicators[{i}].level2"
        if l1 and l1 not in LEVEL1:
            severity = "info" if l1 + "指标" in LEVEL1 else "warning"
            yield finding("TAX-1", severity, f"未知的一级指标“{l1}”", f"unknown 一级 label '{l1}'", [p1], {p1: l1})
        if l2 and l2 not in LEVEL2:
            severity = "info" if l2 + "指标" in LEVEL2 else "warning"
            yield finding("TAX-2", severity, f"未知的二级指标“{l2}”", f"unknown 二级 label '{l2}'", [p2], {p2: l2})
        elif l2 and l1 in LEVEL1 and l1 not in LEVEL2[l2]:
            yield finding("TAX-3", "warning", f"二级指标“{l2}”不属于一级指标“{l1}”", f"二级 '{l2}' does not belong under '{l1}'",
                     [p1, p2], {p1: l1, p2: l2})


# Findings a reviewer answers by confirming the value against the page (review: Review.apply's
# `confirm`); the finding stays, as info, while the value stays as confirmed.
REVIEWER_CONFIRMS = frozenset({"U3"})


def units(v: Values) -> Iterator[Finding]:
    unit = v.form.amount_unit
    if unit is None:
        yield finding("U1", "warning", "未找到金额单位（元/万元）", "no amount unit (元/万元) found", ["amount_unit"], {})
        return
    if v.chunk and (doubt := disagreement(unit, stated_units(v.chunk))):
        if v.form.confirmed_by_reviewer.get("amount_unit") == unit:
            # A person answered it: the page still disagrees, so it is said, but as settled.
            yield finding("U3", "info", f"{doubt[0]}（复核人员已对照原表确认为{unit}）",
                          f"{doubt[1]} (confirmed as {unit} by a reviewer against the page)", ["amount_unit"],
                          {"amount_unit": unit})
        else:
            # Which statement the form means is a question for a person, whoever read it: to review.
            f = finding("U3", "warning", *doubt, ["amount_unit"], {"amount_unit": unit})
            f.triage, f.suspect_fields = "extraction_suspect", ["amount_unit"]
            yield f
    amounts = [(p, x) for p, x in _amounts(v) if is_num(x)]
    if unit == "万元" and any(x >= 1_000_000 for _, x in amounts):
        p, x = max(amounts, key=lambda px: px[1])
        yield finding("U2", "info", f"单位为万元但金额达{x}", f"unit is 万元 but an amount is {x}", ["amount_unit", p],
                 {"amount_unit": unit, p: x})
    if unit == "元" and amounts and all(x < 100 for _, x in amounts) and any(x for _, x in amounts):
        yield finding("U2", "info", "单位为元但所有金额都小于100", "unit is 元 but every amount is below 100", ["amount_unit"],
                 {"amount_unit": unit})


def _amounts(v: Values):
    funds = v.form.funds.model_dump()
    for key, value in funds.items():
        if isinstance(value, dict):
            for col in ("initial_budget", "annual_budget", "executed"):
                yield f"funds.{key}.{col}", value.get(col)
        else:
            yield f"funds.{key}", value


