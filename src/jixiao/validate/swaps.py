"""Two figures read into each other's cells: failed rules that all hold once the two trade places.

A form's own printed error almost never fits its arithmetic exactly when two of its figures are
swapped (the weights summing to the one total, the scores to the other); a reader that took a
cell for its neighbour produces exactly that. So where the printed order fails a rule and the
swap settles every error and warning about the pair (a total of 99 beside 100 may pass its sum
within rounding, and fail only as a weight that is not 100), the findings are the reading's to
answer for (`extraction_suspect`: the form goes to review), not the form's (`source_inconsistency`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..schema import Finding, Form, field_label, path_parts, set_at, value_at
from .common import FUND_ROWS, finding, is_num
from .values import Values, parse_indicator

_SERIOUS = ("error", "warning")


def pairs(form: Form) -> Iterator[tuple[str, str]]:
    """The figures a layout prints side by side, each of which a reader may take for the other."""
    if form.kind == "self_evaluation":
        yield "total_weight", "total_score"
        yield "funds.total.weight", "funds.total.score"
        for row in FUND_ROWS:
            yield f"funds.{row}.annual_budget", f"funds.{row}.executed"
    else:
        yield "funds.annual_total", "funds.project_total"
    for i, row in enumerate(form.indicators):
        if form.kind == "self_evaluation":
            yield f"indicators[{i}].weight", f"indicators[{i}].score"
            target, actual = parse_indicator(row.target), parse_indicator(row.actual)
            # Proportional scoring is a comparison, not a sum: only where the grammar says so too
            # (the comparator printed with the actual, none with the target) is it the cells' swap.
            if target and actual and actual.op and not target.op and target.quantitative:
                yield f"indicators[{i}].target", f"indicators[{i}].actual"


def mark_swaps(values: Values, findings: list[Finding], check: Callable[..., list[Finding]],
               origin: dict[int, object]) -> list[Finding]:
    """The findings, with those a swap of two figures settles triaged `extraction_suspect`, and
    for each such pair a SWAP finding that says so. `check(values, rules)` runs those rules
    (None: all the form's) on a Values; `origin` gives each finding's rule by the finding's id."""
    if not any(f.severity in _SERIOUS for f in findings):
        return findings
    touched = {p for f in findings if f.severity in _SERIOUS for p in f.fields}
    added = []
    for a, b in pairs(values.form):
        if a not in touched and b not in touched:
            continue
        va, vb = values.get(a), values.get(b)
        if va is None or vb is None or va == vb or is_num(va) != is_num(vb):
            continue
        broken = [f for f in findings if f.severity in _SERIOUS and (a in f.fields or b in f.fields)]
        view = Values(swapped(values.form, a, b), values.source, values.chunk)
        # The rules that failed first (most candidates fail again: cheap), then all of them.
        failed_rules = tuple(dict.fromkeys(origin[id(f)] for f in broken if id(f) in origin))
        if _about(check(view, failed_rules), a, b) or _about(check(view, None), a, b):
            continue
        for f in broken:
            f.triage, f.suspect_fields = "extraction_suspect", [a, b]
        added.append(_swap_finding(a, b, va, vb))
    return findings + added


def _about(findings: list[Finding], a: str, b: str) -> bool:
    """Whether any error or warning speaks of a or b."""
    return any(f.severity in _SERIOUS and (a in f.fields or b in f.fields) for f in findings)


def _swap_finding(a: str, b: str, va, vb) -> Finding:
    (za, ea), (zb, eb) = _names(a), _names(b)
    where = a.rsplit(".", 1)[0] + "：" if "." in a else ""
    f = finding("SWAP", "warning",
                f"{where}{za}{va}与{zb}{vb}互换后恰好符合表内算术，按原顺序则不符：疑为两格读错位置，请对照原表",
                f"{where.rstrip('：')}{' ' if where else ''}{ea} {va} and {eb} {vb} fit the form's arithmetic exactly "
                "when swapped, and not as read: likely read into each other's cells; check them against the page",
                [a, b], {a: va, b: vb}, expected={a: vb, b: va})
    f.triage, f.suspect_fields = "extraction_suspect", [a, b]
    return f


def _names(path: str) -> tuple[str, str]:
    """A figure's label as the form prints it, and in English (`annual_budget` → annual budget)."""
    return field_label(path), path.rsplit(".", 1)[-1].replace("_", " ")


def swapped(form: Form, a: str, b: str) -> Form:
    """The form with the values (and printed spans) at paths a and b exchanged: a copy that
    shares all but the containers on the two paths (a deep copy of every row costs more than
    the rules' run on it)."""
    va, vb = value_at(form, a), value_at(form, b)
    copy = form.model_copy()
    for path in (a, b):
        _own(copy, path)
    set_at(copy, a, vb)
    set_at(copy, b, va)
    spans = dict(copy.field_spans or {})
    sa, sb = spans.pop(a, None), spans.pop(b, None)
    spans.update({k: s for k, s in ((a, sb), (b, sa)) if s is not None})
    copy.field_spans = spans
    return copy


def _own(copy: Form, path: str) -> None:
    """Each container on `path` in `copy` replaced by a shallow copy of its own."""
    node: object = copy
    for part in path_parts(path)[:-1]:
        child = node[part] if isinstance(part, int) else getattr(node, part)  # type: ignore[index]
        own = list(child) if isinstance(child, list) else child.model_copy()
        if isinstance(part, int):
            node[part] = own  # type: ignore[index]
        else:
            setattr(node, part, own)
        node = own
