"""Helpers every rule module shares: building a finding, number tests, rounding."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from ..schema import FUND_LABELS, Finding
from .values import Values

FUND_ROWS = ("total", "current_year", "carryover", "other")
ROW_LABELS = {row: FUND_LABELS[row] for row in FUND_ROWS}


def finding(code, severity, zh, en, fields, values, expected=None, tolerance=None) -> Finding:
    return Finding(code=code, severity=severity, message=f"{zh} / {en}", fields=list(fields),
                   values=dict(values), expected=expected, tolerance=tolerance)


def is_num(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def exact(a: float, b: float) -> bool:
    """Equal but for float noise: figures read as printed that make a sum or a product exactly."""
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def total_parts(v: Values, field: str) -> list[str]:
    """The paths the 总分 row's `field` (weight, score) is the sum of: the funds' row and every
    indicator row."""
    return [f"funds.total.{field}", *(f"indicators[{i}].{field}" for i in range(len(v.form.indicators)))]


def by_path(checks) -> dict[str, str]:
    """Field path → the reason (Chinese / English) of the first of `checks` ((paths, reason)
    pairs) that names it."""
    out: dict[str, str] = {}
    for paths, why in checks:
        for path in paths:
            out.setdefault(path, why)
    return out


def r4(x: float, d: int = 4) -> float:
    return round(x, d)


def half_up(x: float, d: int) -> float:
    """Rounded half away from zero, as forms round (Python's round() goes to even)."""
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP))


def sum_check(v: Values, code: str, total_path: str, part_paths: list[str], zh: str, en: str,
              parts_rounding=sum):
    """A total that must equal its parts (blank parts are 0), within the total's printed
    rounding plus the parts' (`parts_rounding` of their half-units: all of them, or the largest)."""
    total = v.get(total_path)
    parts = [v.get(p) for p in part_paths]
    if not is_num(total) or not any(is_num(p) for p in parts):
        return
    s = sum(p for p in parts if is_num(p))
    tolerance = v.half_unit(total_path) + parts_rounding(v.half_unit(p) for p, x in zip(part_paths, parts) if is_num(x))
    if abs(total - s) > tolerance + 1e-9:
        yield finding(code, "error", f"{zh}：合计{total}，分项之和{r4(s, 6)}", f"{en}: total {total}, parts sum to {r4(s, 6)}",
                      [total_path, *part_paths], {total_path: total, **dict(zip(part_paths, parts))},
                      expected=r4(s, 6), tolerance=r4(tolerance, 6))
