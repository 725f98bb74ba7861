"""Self-evaluation funds table (VALIDATION.md §1), totals and grade (§2)."""

from __future__ import annotations

from collections.abc import Iterator

from ..schema import Finding
from .common import FUND_ROWS, ROW_LABELS, finding, half_up, is_num, r4, sum_check, total_parts
from .values import Values

# --- §1 funds of a self-evaluation ----------------------------------------------------------

def se_f1_execution_rate(v: Values) -> Iterator[Finding]:
    for row in FUND_ROWS:
        b_path, e_path, r_path = (f"funds.{row}.{c}" for c in ("annual_budget", "executed", "execution_rate"))
        b, e, r = v.get(b_path), v.get(e_path), v.get(r_path)
        if not is_num(r):
            continue
        if not is_num(b) or b == 0:
            if r not in (0, None):
                yield finding("SE-F1", "info", f"{ROW_LABELS[row]}全年预算数为空或为0，但执行率为{r}",
                         f"{row}: no full-year budget but an execution rate of {r}", [b_path, r_path],
                         {b_path: b, r_path: r})
            continue
        if not is_num(e):
            continue
        db, de, dr = v.half_unit(b_path), v.half_unit(e_path), v.half_unit(r_path)
        rmin, rmax = (e - de) / (b + db) * 100, (e + de) / max(b - db, 1e-12) * 100
        gap = max(rmin - (r + dr), (r - dr) - rmax, 0.0)
        if gap <= 1e-9:
            continue
        unit = 2 * dr
        severity = "warning" if gap <= unit + 1e-9 else "error"
        yield finding("SE-F1", severity,
                 f"{ROW_LABELS[row]}执行率{r}%与全年执行数/全年预算数={r4(e / b * 100, 2)}%不符",
                 f"{row}: execution rate {r}% but executed/budget = {e}/{b} = {r4(e / b * 100, 2)}%",
                 [r_path, e_path, b_path], {r_path: r, e_path: e, b_path: b}, expected=r4(e / b * 100),
                 tolerance=r4(dr + (rmax - rmin) / 2, 6))


def se_f2_execution_score(v: Values) -> Iterator[Finding]:
    b, e, w, s, r = (v.get(f"funds.total.{c}") for c in ("annual_budget", "executed", "weight", "score",
                                                        "execution_rate"))
    if not all(is_num(x) for x in (b, e, w, s)) or b == 0:
        return
    paths = ["funds.total.score", "funds.total.executed", "funds.total.annual_budget", "funds.total.weight"]
    values = {p: v.get(p) for p in paths}
    if e > b:
        yield finding("SE-F2", "warning", "执行率超过100%", "executed exceeds the full-year budget (rate above 100%)",
                 paths[1:3], values)
    exact = min(e / b * 100, 100.0)
    expected = exact / 100 * w
    ds = v.decimals("funds.total.score")
    db, de = v.half_unit("funds.total.annual_budget"), v.half_unit("funds.total.executed")
    spread = ((e + de) / max(b - db, 1e-12) - (e - de) / (b + db)) * 100
    tolerance = 0.5 * 10 ** -ds + w * spread / 200
    from_printed = is_num(r) and half_up(min(r, 100) / 100 * w, ds) == half_up(s, ds)
    gap = abs(s - expected) - tolerance
    if gap <= 1e-9 or from_printed:
        return
    severity = "warning" if gap <= 10 ** -ds + 1e-9 else "error"
    yield finding("SE-F2", severity, f"预算执行得分{s}与执行率×分值={r4(expected, 2)}不符",
             f"budget-execution score {s} but rate × weight = {r4(expected, 2)}", paths, values,
             expected=r4(expected), tolerance=r4(tolerance, 6))


def se_f3_execution_weight(v: Values) -> Iterator[Finding]:
    w = v.get("funds.total.weight")
    if is_num(w) and abs(w - 10) > 1e-9:
        yield finding("SE-F3", "warning", f"预算执行率分值为{w}，一般应为10", f"budget-execution weight is {w}, normally 10",
                 ["funds.total.weight"], {"funds.total.weight": w}, expected=10)
    for row in ("current_year", "carryover", "other"):
        for col in ("weight", "score"):
            path = f"funds.{row}.{col}"
            if is_num(v.get(path)):
                yield finding("SE-F3", "info", f"{ROW_LABELS[row]}行填写了{'分值' if col == 'weight' else '得分'}（通常为—）",
                         f"{row} row repeats a {col} (normally —); it is not added to the total", [path],
                         {path: v.get(path)})


def se_f4_fund_sum(v: Values) -> Iterator[Finding]:
    for col in ("initial_budget", "annual_budget", "executed"):
        yield from sum_check(v, "SE-F4", f"funds.total.{col}", [f"funds.{r}.{col}" for r in FUND_ROWS[1:]],
                              "年度资金总额≠当年财政拨款+上年结转资金+其他资金",
                              f"年度资金总额 ≠ sum of its parts ({col})")


def se_f5_amounts(v: Values) -> Iterator[Finding]:
    for row in FUND_ROWS:
        for col in ("initial_budget", "annual_budget", "executed"):
            path = f"funds.{row}.{col}"
            x = v.get(path)
            if is_num(x) and x < 0:
                yield finding("SE-F5", "error", f"金额为负数：{x}", f"negative amount {x}", [path], {path: x})
        b, e = v.get(f"funds.{row}.annual_budget"), v.get(f"funds.{row}.executed")
        # The total row's overrun is SE-F2's to report, when SE-F2 can run (weight and score printed).
        f2_runs = is_num(v.get("funds.total.weight")) and is_num(v.get("funds.total.score"))
        if (row != "total" or not f2_runs) and is_num(b) and is_num(e) and e > b:
            paths = [f"funds.{row}.executed", f"funds.{row}.annual_budget"]
            yield finding("SE-F5", "warning", f"{ROW_LABELS[row]}执行数超过预算数", f"{row}: executed exceeds the budget",
                     paths, {paths[0]: e, paths[1]: b})


def se_f6_low_execution(v: Values) -> Iterator[Finding]:
    r = v.get("funds.total.execution_rate")
    if is_num(r) and r < 90 and not any(i.deviation for i in v.form.indicators):
        yield finding("SE-F6", "info", f"执行率{r}%低于90%，表中无偏差原因说明",
                 f"execution rate {r}% is below 90% and the form gives no reason", ["funds.total.execution_rate"],
                 {"funds.total.execution_rate": r})


# --- §2 indicator table, totals, grade -------------------------------------------------------

def se_t1_weights(v: Values) -> Iterator[Finding]:
    tw = v.get("total_weight")
    if not is_num(tw):
        return
    if abs(tw - 100) > 1e-9:
        yield finding("SE-T1", "warning", f"总分分值为{tw}，一般为100", f"total weight is {tw}, normally 100",
                 ["total_weight"], {"total_weight": tw}, expected=100)
    yield from _total_check(v, "SE-T1", "total_weight", "weight", "分值", "weights")


def se_t2_scores(v: Values) -> Iterator[Finding]:
    yield from _total_check(v, "SE-T2", "total_score", "score", "得分", "scores")


def _total_check(v: Values, code, total_path, field, zh, en) -> Iterator[Finding]:
    # Forms add the printed parts, so the total is out by at most its own rounding and one
    # part's; VALIDATION.md's Σ over every part grows with the row count until, on a 40-row
    # table of whole points, it would let a 20-point error through.
    yield from sum_check(v, code, total_path, total_parts(v, field),
                         f"总分{zh}与预算执行及各项指标{zh}之和不符", f"total {en} ≠ budget execution + indicator {en}",
                         parts_rounding=max)


def se_t3_shares(v: Values) -> Iterator[Finding]:
    dept = v.form.supervising_dept or ""
    if "上海" in dept or not v.form.indicators:
        return  # Shanghai forms set their own 一级 shares as a matter of course
    shares: dict[str, float] = {}
    for row in v.form.indicators:
        if is_num(row.weight):
            shares[row.level1 or "?"] = shares.get(row.level1 or "?", 0) + row.weight
    default = {"产出指标": 50, "效益指标": 30, "满意度指标": 10}
    if any(abs(shares.get(k, 0) - w) > 1e-6 for k, w in default.items()):
        yield finding("SE-T3", "info", "一级指标权重与默认的产出50/效益30/满意度10不同",
                 "一级 weight shares differ from the default 50/30/10", ["indicators"],
                 {k: r4(s) for k, s in shares.items()}, expected=default)


def se_g1_grade(v: Values) -> Iterator[Finding]:
    g, s = v.form.grade, v.get("total_score")
    if g is None:
        if any(n.field == "grade" and n.code == "blank_cell" for n in v.form.notes):
            yield finding("SE-G1", "info", "评分等级一栏为空", "the 评分等级 row is blank", ["grade"], {"grade": None})
        return
    if g not in ("优", "良", "中", "差"):
        yield finding("SE-G1", "warning", f"评分等级“{g}”不是优/良/中/差", f"grade '{g}' is not one of 优/良/中/差",
                 ["grade"], {"grade": g})
        return
    if not is_num(s):
        return
    expected = "优" if s >= 90 else "良" if s >= 80 else "中" if s >= 60 else "差"
    if g != expected:
        yield finding("SE-G1", "error", f"总分{s}应评为“{expected}”，表上为“{g}”", f"total score {s} means '{expected}', the form says '{g}'",
                 ["grade", "total_score"], {"grade": g, "total_score": s}, expected=expected)


