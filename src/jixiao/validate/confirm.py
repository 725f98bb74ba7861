"""Fields the form's own figures confirm: values that other values, read apart, agree with.

A misread digit, or a figure read into the wrong cell, almost never leaves an exact sum or a
printed rate true: when the funds rows add up to their total, the rate is executed/budget,
the indicator weights and scores add up to the printed 总分, or the year is the one the
planned dates fall in, every value taking part was read as printed. Such a value can be
trusted beyond the OCR reader's doubt about its characters (confidence.py); a value nothing
confirms keeps its doubt. The checks here are exact (within the printed rounding of a rate),
not the tolerances of the validators, which allow for a form's own rounding slips."""

from __future__ import annotations

from ..dates import plan_year
from .common import FUND_ROWS, by_path, exact, half_up, is_num, total_parts
from .values import Values

_SE_SUMS = tuple((f"funds.total.{c}", tuple(f"funds.{r}.{c}" for r in FUND_ROWS[1:]))
                 for c in ("initial_budget", "annual_budget", "executed"))
_TD_SUMS = (("funds.annual_total", ("funds.annual_current_year", "funds.annual_carryover", "funds.annual_other")),
            ("funds.project_total", ("funds.project_fiscal", "funds.project_other")))


def confirmed(values: Values) -> dict[str, str]:
    """Field path → what confirms it (Chinese / English), for every field a check confirms."""
    return by_path(_checks(values))


def _checks(v: Values):
    form = v.form
    if form.kind == "self_evaluation":
        for total, parts in _SE_SUMS:
            yield _sum(v, total, parts), "资金合计等于各分项之和 / the funds rows add up to their total"
        for row in FUND_ROWS:
            yield _rate(v, row), "执行率等于全年执行数/全年预算数 / the rate is executed / budget"
        yield _execution_score(v), "预算执行得分等于执行率×分值 / the budget-execution score is rate × weight"
        for field, total in (("weight", "total_weight"), ("score", "total_score")):
            yield (_sum(v, total, total_parts(v, field), least=2),
                   f"总分等于各项之和 / the 总分 {field} is the sum of the rows'")
    else:
        for total, parts in _TD_SUMS:
            yield _sum(v, total, parts), "资金合计等于各分项之和 / the funds add up to their total"
    yield _year_of_dates(v), "年度与计划日期一致 / the year is that of the planned dates"


def _sum(v: Values, total: str, parts, least: int = 1) -> list[str]:
    """The total and its parts when the parts read add up to it exactly; at least `least`
    parts read, and a total that is not 0 (a 0 total of blank parts confirms nothing)."""
    t = v.get(total)
    read = [p for p in parts if is_num(v.get(p))]
    if not is_num(t) or t == 0 or len(read) < least or not exact(t, sum(v.get(p) for p in read)):
        return []
    return [total, *read]


def _rate(v: Values, row: str) -> list[str]:
    """Budget, spent and rate when the printed rate is executed/budget to its printed digits
    (each figure not 0: 0 of anything is 0 whatever the budget reads)."""
    paths = [f"funds.{row}.{c}" for c in ("annual_budget", "executed", "execution_rate")]
    b, e, r = (v.get(p) for p in paths)
    if not all(is_num(x) and x > 0 for x in (b, e, r)):
        return []
    return paths if abs(e / b * 100 - r) <= v.half_unit(paths[2]) + 1e-9 else []


def _execution_score(v: Values) -> list[str]:
    """The funds' weight and score when the score is the printed rate (at most 100%) × weight."""
    paths = ["funds.total.weight", "funds.total.score", "funds.total.execution_rate"]
    w, s, r = (v.get(p) for p in paths)
    if not all(is_num(x) and x > 0 for x in (w, s, r)):
        return []
    return paths[:2] if exact(half_up(min(r, 100) / 100 * w, v.decimals(paths[1])), s) else []


def _year_of_dates(v: Values) -> list[str]:
    """The year, when the planned dates, read apart from it, fall in it (not when the year
    was taken from those dates: that is one reading, not two)."""
    year = v.form.year
    if not is_num(year) or any(n.code == "year_from_plan" for n in v.form.notes):
        return []
    return ["year"] if plan_year(getattr(v.form, "planned_start", None), getattr(v.form, "planned_end", None)) == year else []
