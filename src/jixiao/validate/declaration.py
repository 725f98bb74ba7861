"""Target declarations (VALIDATION.md §6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

from ..schema import Finding
from .common import finding, is_num, sum_check
from .values import Values

NATURES = {"一次性项目", "经常性项目", "其他经常性项目", "阶段性项目"}
CATEGORIES = {"特定目标类", "其他运转类", "运转类", "人员类", "公用经费"}

# --- §6 target declarations -----------------------------------------------------------------

_REQUIRED = ("project_name", "project_nature", "project_category", "supervising_dept", "implementing_unit",
             "planned_start", "planned_end", "amount_unit", "funds.annual_total", "goal_annual")


def td_r1_required(v: Values) -> Iterator[Finding]:
    for path in _REQUIRED:
        if v.get(path) in (None, ""):
            yield finding("TD-R1", "warning", f"必填项{path}为空", f"required field {path} is blank", [path], {path: None})
    if not v.form.indicators:
        yield finding("TD-R1", "warning", "没有绩效指标", "no indicators", ["indicators"], {})
    for i, row in enumerate(v.form.indicators):
        if not row.target:
            path = f"indicators[{i}].target"
            yield finding("TD-R1", "warning", f"指标“{row.name}”没有指标值", f"indicator {row.name} has no target", [path],
                     {path: None})


def td_f1_annual_sum(v: Values) -> Iterator[Finding]:
    yield from sum_check(v, "TD-F1", "funds.annual_total",
                          ["funds.annual_current_year", "funds.annual_carryover", "funds.annual_other"],
                          "年度资金申请总额≠当年财政拨款+上年结转资金+其他资金", "年度资金申请总额 ≠ sum of its parts")


def td_f2_project_sum(v: Values) -> Iterator[Finding]:
    if is_num(v.get("funds.project_total")):
        yield from sum_check(v, "TD-F2", "funds.project_total", ["funds.project_fiscal", "funds.project_other"],
                              "项目资金总额≠财政资金+其他资金", "项目资金总额 ≠ 财政资金 + 其他资金")


def td_f3_project_covers_year(v: Values) -> Iterator[Finding]:
    p, a = v.get("funds.project_total"), v.get("funds.annual_total")
    if is_num(p) and is_num(a) and p < a:
        paths = ["funds.project_total", "funds.annual_total"]
        yield finding("TD-F3", "warning", f"项目资金总额{p}小于年度资金申请总额{a}", f"project total {p} is below the annual request {a}",
                 paths, {paths[0]: p, paths[1]: a})


def td_d1_dates(v: Values) -> Iterator[Finding]:
    start, end = _date(v.form.planned_start), _date(v.form.planned_end)
    paths = ["planned_start", "planned_end"]
    values = {"planned_start": v.form.planned_start, "planned_end": v.form.planned_end}
    if start and end and start > end:
        yield finding("TD-D1", "error", "计划开始日期晚于计划完成日期", "planned start is after planned end", paths, values)
    year = v.form.year
    recurring = "经常性" in (v.form.project_nature or "")
    if year and recurring and any(d and d.year != year for d in (start, end)):
        yield finding("TD-D1", "info", f"经常性项目的计划日期超出{year}年度", f"a recurring project's dates fall outside {year}",
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
        yield finding("TD-E1", "warning", f"未知的项目性质“{nature}”", f"unknown 项目性质 '{nature}'", ["project_nature"],
                 {"project_nature": nature})
    if category:
        key = category.replace("其它", "其他").removesuffix("项目")
        if key not in CATEGORIES and key.removeprefix("其他") not in CATEGORIES:
            yield finding("TD-E2", "warning", f"未知的项目类别“{category}”", f"unknown 项目类别 '{category}'",
                     ["project_category"], {"project_category": category})


