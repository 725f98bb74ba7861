"""Fund figures scattered by an extractor's reading order, placed by the grid's arithmetic.

Text of an unruled funds block read one cell per line can come out column by column and row
by row at once (each row label with its first figure, then the other figures in no order a
rule of position can follow, some even beside the indicator table). What the template still
fixes: each row label is followed by its row's first figure (年初预算数); the total row holds
six cells (年初预算数, 全年预算数, 全年执行数, 分值, 执行率, 得分) and the rows under it their
amounts; in each amount column the total is the sum of the rows under it; 执行率 is the
figure printed with %; 得分 is at most 分值, itself at most 100. The figures are placed only
when every placement that keeps all of that gives each cell the same value — values as
printed, never computed; a figure left over or a second reading means nothing is placed."""

from __future__ import annotations

from collections import Counter
from itertools import product

from ...text import NULL_MARKS, is_number, parse_number

_SUBROWS = ("current_year", "carryover", "other")
_MAX_SOLUTIONS = 64


def placed_funds(figures: list[tuple[str, str | None]]) -> dict[str, list[str | None]] | None:
    """figures: (text, row key of the label just before it or None) in reading order, every
    figure of the funds block. The rows' six cells as printed texts (None where blank), or
    None when the figures do not fit the grid in exactly one way."""
    anchors: dict[str, str] = {}
    rest: list[str] = []
    for text, key in figures:
        if text in NULL_MARKS:
            continue
        if key is not None and key not in anchors:
            anchors[key] = text
        else:
            rest.append(text)
    if "total" not in anchors or not all(k in anchors for k in _SUBROWS):
        return None
    rates = [t for t in rest if t.endswith("%")]
    if len(rates) != 1:
        return None
    rest.remove(rates[0])
    pool = Counter(_cents(t) for t in rest)
    texts = {_cents(t): t for t in rest}
    readings = set()
    # each row under the total prints 全年预算数 and maybe 全年执行数
    for executed in product((False, True), repeat=len(_SUBROWS)):
        slots = 4 + len(_SUBROWS) + sum(executed)  # total: 全年预算数, 全年执行数, 分值, 得分
        if slots == sum(pool.values()):
            readings.update(_readings(pool, anchors, executed))
    initial = [_cents(anchors[k]) for k in _SUBROWS]
    # among the readings, those where no row turns from nothing to something across its
    # columns (年初 0 → 全年 0 → 执行 0 or blank): equal figures make the rest ambiguous
    best = min((_turns(r, initial) for r in readings), default=None)
    kept = [r for r in readings if _turns(r, initial) == best]
    if len(kept) != 1:
        return None
    (total_a, total_e, weight, score, sub_a, sub_e), = kept
    rows = {"total": [anchors["total"], texts[total_a], texts[total_e], texts[weight], rates[0], texts[score]]}
    for key, a, e in zip(_SUBROWS, sub_a, sub_e):
        rows[key] = [anchors[key], texts[a], texts[e] if e is not None else None, None, None, None]
    return rows


def _turns(reading, initial: list[int]) -> int:
    sub_a, sub_e = reading[4], reading[5]
    return sum((i == 0) != (a == 0) for i, a in zip(initial, sub_a)) + sum(
        e is not None and (a == 0) != (e == 0) for a, e in zip(sub_a, sub_e))


def _cents(text: str) -> int:
    return round((parse_number(text) or 0.0) * 100)


def _readings(pool: Counter, anchors: dict[str, str], executed: tuple[bool, ...]):
    """Every placement of the pooled figures (in cents) that keeps the grid's arithmetic."""
    initial = [_cents(anchors[k]) for k in _SUBROWS]
    if _cents(anchors["total"]) != sum(initial):
        return
    found = 0
    for weight in [v for v in pool if v <= 100 * 100]:
        for score in [v for v in _less(pool, weight) if v <= weight]:
            left = _less(_less(pool, weight), score)
            for total_a in list(left):
                after_a = _less(left, total_a)
                for sub_a in _summing(after_a, total_a, len(_SUBROWS)):
                    after_sub = after_a
                    for v in sub_a:
                        after_sub = _less(after_sub, v)
                    for total_e in list(after_sub):
                        after_e = _less(after_sub, total_e)
                        needed = sum(executed)
                        for sub_e in _summing(after_e, total_e, needed):
                            if sum((after_e - Counter(sub_e)).values()) or Counter(sub_e) - after_e:
                                continue
                            it = iter(sub_e)
                            yield (total_a, total_e, weight, score, tuple(sub_a),
                                   tuple(next(it) if has else None for has in executed))
                            found += 1
                            if found > _MAX_SOLUTIONS:
                                return


def _less(pool: Counter, value: int) -> Counter:
    out = Counter(pool)
    out[value] -= 1
    return +out


def _summing(pool: Counter, total: int, count: int):
    """Ordered picks of `count` figures from the pool that add up to `total`."""
    if count == 0:
        if total == 0:
            yield ()
        return
    for v in list(pool):
        if v <= total:
            for rest in _summing(_less(pool, v), total - v, count - 1):
                yield (v, *rest)


def fund_figure(text: str) -> bool:
    return is_number(text) or text in NULL_MARKS
