"""Fields the form's own text puts in doubt, though each was found as printed.

confirm.py's other side. A form's text is not always the form: another program's OCR or PDF
extractor may have misread a digit or lost a line before jixiao saw it, and no reader can tell
such a text from a form that printed it. Where the template leaves no room for what the text
says, the values taking part are in doubt, and a person compares them with the page:

- a figure the form works out from others disagrees with them: a total that is not the sum of
  its parts (funds rows, 总分's weights and scores, a declaration's funds), a score above its
  row's weight. A form's spreadsheet adds and caps these itself; the rules a scorer or a clerk
  applies by hand (a rate, a score for a target not quite met) are not in this list: forms
  print their own slips there (VALIDATION.md SE-F1, SE-I2), and a misread would look the same;
  the rows' weights that are not exactly the printed 总分 weight: weights are set, not worked
  out and rounded, so no rounding hides a gap (SE-T1 allows the total's printed rounding);
- one figure printed twice, differently: two funds rows with the same budget and spending
  whose execution rates differ; a year the form's own text contradicts (other years named and
  never this one, a declaration's planned dates all in another year) or no form can have (before
  2000, after next year);
- a value the template's grammar has no room for: an achievement one character off the
  template's words for it (达成日标 for 达成指标), a target's or actual's label one character off
  the label the same form prints in its other rows (完士率 among 完成率), a name holding a table's
  rule (`----`, `|`), a figure printed with a leading zero (`00`, `07`), a target or actual in
  % above 100 (a 率 or 度 in % is a share of a whole: 满意度130%, 完成率600%).

The form is routed to review (confidence.py lowers each field named here); its findings are
still triaged as the form's own (triage.py): a re-read would only push a reader to print
other numbers."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

from ..dates import plan_year
from ..schema import Finding
from ..text import compact
from .common import FUND_ROWS, by_path, exact, is_num, total_parts
from .indicators import QUALITATIVE_BANDS
from .values import MET_WORDS, Indicator, Values, parse_indicator

# Findings of figures the form computes: the sums of funds and of 总分, a score capped by its weight.
COMPUTED = frozenset({"SE-F4", "SE-T1", "SE-T2", "TD-F1", "TD-F2", "SE-I1"})
_SERIOUS = ("error", "warning")
# Why each doubt, in Chinese and English: confidence.py gives it as the field's reason, the review
# page shows it beside the place (review/explain.py knows a doubt's reason by its text).
WHY = {
    "computed": "表内合计或上限与其分项不符，其中某个数字可能误读 / a figure the form works out disagrees with its "
                "parts: one of them may be misread",
    "weights": "各项分值之和不等于总分分值 / the weights do not add up exactly to the 总分 weight",
    "rates": "两行预算数与执行数相同而执行率不同 / two funds rows with the same budget and spending print "
             "different execution rates",
    "year": "年度与表内其他年份或计划日期不符，或不可能 / the year disagrees with the form's other years or dates, "
            "or no form has it",
    "achievement": "完成值与模板用语（如“达成指标”）仅差一字 / an achievement one character off the template's "
                   "word for it",
    "label": "指标值的名称与本表其他行所用仅差一字 / a value's label one character off the one the form's other "
             "rows print",
    "ruled": "名称中含表格线 / a name holding a table's rule",
    "zero": "数字以0开头 / a figure printed with a leading zero",
    "share": "百分比超过100% / a share above 100%",
}
DOUBTS = frozenset(WHY.values())
# The template's words for an achievement (VALIDATION.md SE-I3).
ACHIEVED = MET_WORDS | {word for word, _, _ in QUALITATIVE_BANDS}
_PHRASE = 4  # characters: one off a phrase this long is a misread, one off a shorter word another word
FIRST_YEAR = 2000  # before any performance form; a year after next is no form's either
_YEAR_NAMED = re.compile(r"((?:19|20|21)\d\d)\s*年")
_TABLE_RULE = re.compile(r"[-=_]{3,}|[|\t]")
_ZERO_LED = re.compile(r"(?<![\d.,])0\d")


def doubted(values: Values, findings: list[Finding]) -> dict[str, str]:
    """Field path → why it is in doubt (Chinese / English), for every field a check doubts."""
    return by_path(_checks(values, findings))


def _checks(v: Values, findings: list[Finding]):
    yield [p for f in findings if f.code in COMPUTED and f.severity in _SERIOUS and f.triage != "extraction_suspect"
           for p in f.fields], WHY["computed"]
    if v.form.kind == "self_evaluation":
        yield _weights_inexact(v), WHY["weights"]
        yield _rates_twice(v), WHY["rates"]
    yield _year(v), WHY["year"]
    yield _achievements_off(v), WHY["achievement"]
    yield _labels_off(v), WHY["label"]
    yield _ruled_names(v), WHY["ruled"]
    yield _zero_led(v), WHY["zero"]
    yield _shares_over_whole(v), WHY["share"]


def _weights_inexact(v: Values) -> list[str]:
    """The 总分 weight and the weights, when at least two are read and they do not add up to it
    exactly (a form's own gap beyond its rounding is SE-T1's finding, and doubted with it)."""
    total, read = v.get("total_weight"), [p for p in total_parts(v, "weight") if is_num(v.get(p))]
    if not is_num(total) or len(read) < 2 or exact(total, sum(v.get(p) for p in read)):
        return []
    return ["total_weight", *read]


def _rates_twice(v: Values) -> list[str]:
    """The execution rates of funds rows whose budget and spending read alike (a total all of
    one source, printed again as its only row) when the rates differ: the same quotient
    printed twice, one of them misread."""
    rows = {}
    for row in FUND_ROWS:
        b, e, r = (v.get(f"funds.{row}.{c}") for c in ("annual_budget", "executed", "execution_rate"))
        if is_num(b) and b > 0 and is_num(e) and is_num(r):
            rows.setdefault((b, e), []).append((row, r))
    return [f"funds.{row}.execution_rate" for same in rows.values() if len({r for _, r in same}) > 1
            for row, _ in same]


def _year(v: Values) -> list[str]:
    """The year, when no form can have it, when the form's text names other years and never it,
    or when a declaration's planned dates fall in one other year."""
    year = v.form.year
    if not is_num(year):
        return []
    if not FIRST_YEAR <= year <= date.today().year + 1:
        return ["year"]
    planned = plan_year(getattr(v.form, "planned_start", None), getattr(v.form, "planned_end", None))
    if planned is not None and planned != year:
        return ["year"]
    named = _years_named(v)
    return ["year"] if named and year not in named else []


def _years_named(v: Values) -> set[int]:
    """The years (2023年, 2023 年度) the form's text names, but for where the year was read."""
    text = v.chunk or ""
    span = (v.form.field_spans or {}).get("year")
    if span is not None and v.form.source is not None:
        at = v.form.source.span.start
        text = text[:max(span.start - at, 0)] + text[max(span.end - at, 0):]
    return {int(m.group(1)) for m in _YEAR_NAMED.finditer(text)}


def _one_off(a: str, b: str) -> bool:
    """Two texts of one length that differ in exactly one character."""
    return len(a) == len(b) and sum(x != y for x, y in zip(a, b)) == 1


def _achievements_off(v: Values) -> list[str]:
    """Actuals one character off a template phrase of four or more (达成日标): one off a shorter
    word is another word (达标 beside 达成, 未完成 beside 已完成)."""
    out = []
    for i, row in enumerate(v.form.indicators):
        actual = compact(getattr(row, "actual", None) or "")
        if actual not in ACHIEVED and any(_one_off(actual, word) for word in ACHIEVED if len(word) >= _PHRASE):
            out.append(f"indicators[{i}].actual")
    return out


def _labels_off(v: Values) -> list[str]:
    """Targets and actuals whose label (完成率 of 完成率100%) the form prints once, one character
    off a label it prints in at least two other cells (labels of three characters or more: 完成
    and 达成 are two words)."""
    cells = _target_cells(v)
    labels = Counter(c.label for _, c in cells if c is not None and c.label)
    return [path for path, c in cells if c is not None and c.label and labels[c.label] == 1 and len(c.label) >= 3
            and any(n >= 2 and _one_off(c.label, other) for other, n in labels.items())]


def _ruled_names(v: Values) -> list[str]:
    paths = ["project_name", *(f"indicators[{i}].name" for i in range(len(v.form.indicators)))]
    return [p for p in paths if _TABLE_RULE.search(v.get(p) or "")]


def _zero_led(v: Values) -> list[str]:
    """Figures whose printed text starts a number with a 0 that is not before a decimal point."""
    return [p for p in (v.form.field_spans or {}) if is_num(v.get(p)) and _ZERO_LED.search(v.printed(p) or "")]


def _shares_over_whole(v: Values) -> list[str]:
    """Targets and actuals printed in % above 100: a rate or degree in % is a share of a whole
    (of people satisfied, of work done, of places covered)."""
    return [path for path, c in _target_cells(v) if c is not None and c.number is not None and c.number > 100
            and (c.unit or "").replace("％", "%") == "%"]


def _target_cells(v: Values) -> list[tuple[str, Indicator | None]]:
    """(path, parsed value) of every row's target and actual."""
    return [(f"indicators[{i}].{field}", parse_indicator(getattr(row, field, None)))
            for i, row in enumerate(v.form.indicators) for field in ("target", "actual")]
