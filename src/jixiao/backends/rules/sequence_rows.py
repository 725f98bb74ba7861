"""Indicator rows from a sequence of cells: runs told apart by the value grammar, 一级/二级 placed."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ... import taxonomy
from ...text import HAN, NULL_MARKS, compact, is_number, parse_number

# VALIDATION.md §3: an operator, a number with its unit, `label number %`, a qualitative word.
_VALUE = re.compile(r"^(?:[<>=≥≤≧≦＝]|\d[\d.,]*\s*(?:[(（%]|" + HAN + r"{1,3}$)|" + HAN + r"{1,4}\d[\d.,]*%$)")
_QUALITATIVE = ("及时", "达标", "提升", "逐年提升", "水平提升", "健全", "健全有效", "建立健全", "满意", "高", "全面",
                "改善", "运行平稳", "准确", "控制在预算内", "达成指标", "达成年度指标", "完成建设", "有效", "良好",
                "显著", "规范", "合格", "完成")
_SKIP = ("年初预算数", "全年预算数", "全年执行数", "分值", "分数", "执行率", "得分", "年度指标值", "实际完成值",
         "偏差原因分析及改进措施", "偏差原因分析", "及改进措施", "改进措施", "三级指标", "一级指标", "二级指标",
         "年度(/项目)指标值", "指标值", "年度", "实际", "完成值", "评分等级", "绩效指标", "绩效", "指标", "绩", "效", "指",
         "标", "优", "良", "中", "差", "偏差原因分析及")
@dataclass
class Piece:
    text: str
    start: int
    end: int
    block: int
    first: bool = True
    last: bool = True


def kind_of(text: str) -> str:
    if text in NULL_MARKS or is_number(text):
        return "number"
    if taxonomy.is_full_label(text):
        return "label"
    if _VALUE.match(text) or text in _QUALITATIVE:
        return "value"
    return "text"


def _long(text: str) -> bool:
    return len(text) >= 16 or (len(text) >= 9 and bool(re.search(r"[，。；、,;]", text)))


def _row() -> dict:
    return {"name": None, "values": [], "numbers": [], "deviation": None, "start": None}


def _complete(row: dict, kind: str) -> bool:
    if kind == "target_declaration":
        return len(row["values"]) + len(row["numbers"]) >= 1
    return len(row["values"]) + len(row["numbers"]) >= 4 and len(row["numbers"]) >= 2


def rows_of(items: list[Piece], kind: str):
    """(rows as field dicts, label events (row index, label, known position), 总分 figures, notes)."""
    rows: list[dict] = []
    events: list[tuple[float, str]] = []
    notes: list[tuple[str, str, str]] = []
    orphans: list[str] = []
    totals: tuple[str | None, str | None] = (None, None)
    cur = _row()
    label_tail: str | None = None
    pending: int | None = None  # the event of a label printed in part, its end still to come
    seen_total = False
    before_total: set[int] | None = None  # the rows begun before 总分
    i = 0

    def flush():
        nonlocal cur
        if cur["name"] or cur["values"] or cur["numbers"]:
            rows.append(cur)
        cur = _row()

    while i < len(items):
        p = items[i]
        text, k = p.text, _kind_here(p.text, kind)
        i += 1
        if text == "总分" or text.startswith("总分"):
            if not seen_total:
                before_total = {id(r) for r in rows} | {id(cur)}
            seen_total = True
            figures = []
            j = i
            while j < len(items) and len(figures) < 4:
                if _holds_values(items, j, kind):
                    j = _line_end(items, j) + 1  # a row's cells printed below the table, not 总分's
                    continue
                if kind_of(items[j].text) not in ("number", "text", "label"):
                    break
                if kind_of(items[j].text) == "number":
                    figures.append((j, items[j].text))
                elif _long(items[j].text):
                    break  # a goal text: the figures are not after 总分
                j += 1
            figures = _total_pair(figures, items)
            # the two figures after 总分 are its own only if they read as its weight (100) and
            # score; otherwise (`1154`, `18` of a name's wrapped lines) the two left over before it
            hundred = any(parse_number(f) == 100 for _, f in figures)
            if ((len(figures) < 2 or not hundred) and kind != "target_declaration"
                    and (before := _totals_before(rows, cur))):
                totals = before
                notes.append(("total_score", "stranded_fragment",
                              "总分 figures taken as the two figures left over before it (100 the weight)"))
                continue
            if len(figures) == 2:
                a, b = figures[0][1], figures[1][1]
                weight, score = (b, a) if compact(b) in ("100", "100.00", "100.0") and compact(a) not in ("100", "100.00") else (a, b)
                totals = (weight, score)
                items = items[:figures[0][0]] + items[figures[0][0] + 1:figures[1][0]] + items[figures[1][0] + 1:]
                notes.append(("total_score", "stranded_fragment", "总分 figures taken as the two figures after it"))
            continue
        if text.startswith("执行率") and kind != "target_declaration":
            # 执行率 heads a fund column only: the figures after it are the fund rows' (their
            # column printed beside the indicator table), not an indicator row's
            while i < len(items) and (kind_of(items[i].text) == "number" or items[i].text in _SKIP):
                i += 1
            notes.append(("funds", "stranded_fragment", "fund figures printed inside the indicator table skipped"))
            continue
        if k != "label" and pending is not None and (rest := _label_rest(events, pending, text)) is not None:
            # `社会效益` … `指标可持续影响指标居民区…`: a label's end printed rows later, before a name
            if events[pending][1] in taxonomy.LEVEL2:
                label_tail = pending = None
            if not rest:
                continue
            text, k = rest, kind_of(rest)
        if text in _SKIP:
            continue
        if k != "label" and label_tail and (joined := taxonomy.joined(label_tail, text)):
            label, rest = joined
            events[-1] = (events[-1][0], label)
            label_tail = pending = None
            if not rest:
                continue
            text, k = rest, kind_of(rest)
        if k == "text" and pending is None and (split := _label_head_at_end(text, items, i)):
            # `系统建设工作完成率质量` … `指标`: a label's head printed on its row's name line
            # (a lone 指标 ends a label begun apart instead, when one is pending)
            text, head = split
            events.append((_label_at(rows, cur, kind), head + "指标"))
            notes.append((f"indicators[{len(rows)}].name", "stranded_fragment",
                          f"{head} at the end of a name, 指标 printed apart: the label {head}指标"))
            k = kind_of(text)
        if k == "text" and (lead := taxonomy.label_prefix(text)) and lead in taxonomy.LEVEL2:
            events.append((_label_at(rows, cur, kind), lead))
            notes.append((f"indicators[{len(rows)}].name", "stranded_fragment",
                          f"{lead} printed at the start of a row's name; taken out of the name"))
            text, k = text[len(lead):], kind_of(text[len(lead):])
        if k == "label" or (k == "text" and taxonomy.level_of(text) and len(text) <= 6):
            events.append((_label_at(rows, cur, kind), text))
            label_tail = None if taxonomy.is_full_label(text) else text
            pending = None if label_tail is None else len(events) - 1
            continue
        label_tail = None
        if k == "text" and (split := _label_and_name(text)):
            label, text = split
            events.append((len(rows) + (1 if (cur["name"] or cur["values"] or cur["numbers"]) else 0), label))
            notes.append((f"indicators[{len(rows)}].name", "stranded_fragment",
                          f"{label} printed in the lines of its row's name; taken out of the name"))
        if (k == "text" and kind != "target_declaration" and cur["name"] and not cur["values"] and not cur["numbers"]
                and len(text) <= 8 and i < len(items) and items[i].text.startswith("达成")):
            # a qualitative target outside the value vocabulary (`正常运转`): its actual is written
            # 达成指标 (VALIDATION.md §3, qualitative actuals)
            k = "value"
        if k == "text" and kind != "target_declaration" and _heads_values(text, items, i):
            # a text with no sentence punctuation right before a row's values is that row's name,
            # however long (`党群服务站各项日常管理运行工作完成及时率`), not the deviation above
            if cur["name"] and not (cur["values"] or cur["numbers"]):
                orphans.append(cur["name"])
                cur["name"] = text
                continue
            flush()
            cur["name"], cur["start"] = text, p.start
            continue
        if k == "text":
            if kind == "target_declaration":
                if cur["name"] and not _complete(cur, kind) and _among_labels(items, p):
                    # a name printed in the block of 一级/二级 labels: apart from its row, it
                    # takes the value left without a name further on
                    orphans.append(text)
                    continue
                if cur["name"] and not _complete(cur, kind):
                    # a name right after a name: a row whose value is blank (`促进经济、社会发展`)
                    notes.append((f"indicators[{len(rows)}].target", "not_found", "no value printed for this row"))
                flush()
                cur["name"] = text
                cur["start"] = p.start
                continue
            ended = bool(cur["deviation"]) and not _long(text) and (
                cur["deviation"].endswith(("。", "；", ";")) or cur.get("deviation_block") != p.block)
            if _complete(cur, kind) and (_long(text) or cur["deviation"]) and not ended:
                cur["deviation"] = (cur["deviation"] or "") + text
                cur["deviation_block"] = p.block
                continue
            if (cur["values"] or cur["numbers"]) and _long(text) and cur["name"]:
                cur["deviation"] = (cur["deviation"] or "") + text
                cur["deviation_block"] = p.block
                continue
            if _long(text) and len(text) >= 25:
                continue  # a goal text printed apart from its cell
            if cur["name"] and not (cur["values"] or cur["numbers"]):
                orphans.append(cur["name"])
                cur["name"] = text
                continue
            if cur["name"] is None and (cur["values"] or cur["numbers"]):
                cur["name"] = text  # a row whose name followed its values
                continue
            flush()
            cur["name"], cur["start"] = text, p.start
            continue
        if k == "value":
            if (kind != "target_declaration" and cur["name"] and len(cur["values"]) == 2 and not cur["numbers"]
                    and not re.match(r"^[<>=≥≤≧≦＝]", cur["values"][0]) and i < len(items)
                    and _kind_here(items[i].text, kind) in ("number", "value")):
                # three values before the figures: a row holds two, so the first (no operator,
                # `9人`) is the end of the name (`社区党校红色智囊团9人`)
                cur["name"] += cur["values"].pop(0)
                notes.append((f"indicators[{len(rows)}].name", "stranded_fragment",
                              "a value-like piece before the row's two values joined to its name"))
            if len(cur["values"]) >= (1 if kind == "target_declaration" else 2) or (cur["numbers"] and len(cur["numbers"]) >= 2 and cur["values"]):
                if _complete(cur, kind) or len(cur["values"]) >= 2:
                    flush()
            cur["values"].append(text)
            continue
        # a figure
        if kind == "target_declaration":
            if cur["name"] and not cur["values"]:
                cur["values"].append(text)
            continue
        limit = 4 if not cur["values"] else 2
        if len(cur["numbers"]) >= limit or (len(cur["numbers"]) >= 2 and len(cur["values"]) >= 2):
            flush()
        cur["numbers"].append(text)
    flush()
    if (totals[1] is None and seen_total and kind != "target_declaration"
            and (before := _totals_before(rows, _row()))):
        totals = before
        notes.append(("total_score", "stranded_fragment",
                      "总分 figures taken as the two figures left after the last row"))
    while totals[1] is not None and rows and not rows[-1]["values"] and not rows[-1]["numbers"]:
        rows.pop()  # after 总分: the goal text printed below the table, not a row
    if kind != "target_declaration":
        rows = _figures_ahead(rows, notes, events)
        rows = _completed(rows, orphans, notes, events)
        if before_total is not None:
            rows = _strays_placed(rows, before_total, notes)
    return [_record(row, kind, orphans, notes, n) for n, row in enumerate(rows)], events, totals, notes


def _completed(rows: list[dict], orphans: list[str], notes: list, events: list) -> list[dict]:
    """A row short of cells (`读者满意率` and one figure) completed by a later run holding just
    the cells it lacks (`≥95.00(%) 95.00(%) 3.00`, printed below the table): a row holds two
    values and two figures, its name first and its 得分 last. A name that run was read with
    goes to a row without one."""
    out = list(rows)
    nameless = any(r["name"] is None and _complete(r, "self_evaluation") for r in out)
    for r in rows:
        have_v, have_n = len(r["values"]), len(r["numbers"])
        if r not in out or not r["name"] or have_v + have_n in (0, 4) or have_v > 2 or have_n > 2:
            continue
        at = out.index(r)
        fill = next((f for f in out[at + 1:] if len(f["values"]) == 2 - have_v and len(f["numbers"]) == 2 - have_n
                     and (f["name"] is None or nameless)), None)
        if fill is None:
            continue
        if fill["name"]:
            orphans.append(fill["name"])
        r["values"] = r["values"] + fill["values"]
        r["numbers"] = fill["numbers"] + r["numbers"]
        r["deviation"] = r["deviation"] or fill["deviation"]
        notes.append((f"indicators[{at}]", "stranded_fragment",
                      "cells printed apart from the row (below the table) joined to the row short of them"))
        gone = out.index(fill)
        out.remove(fill)
        # labels that stood after the run stand one row earlier now
        events[:] = [(at - 1 if at > gone else at, label) for at, label in events]
    return out


def _figures_ahead(rows: list[dict], notes: list, events: list) -> list[dict]:
    """A run of figures alone (`8.00` six times) right before rows that hold their two values
    but no figure: the figures of those rows, printed ahead of them, two a row in order. Not
    a placeholder row (its four cells all 0)."""
    out = list(rows)
    for r in rows:
        nums = r["numbers"]
        if r["name"] or r["values"] or len(nums) % 2 or not nums or all(parse_number(x) == 0 for x in nums):
            continue
        at = out.index(r)
        later = out[at + 1:at + 1 + len(nums) // 2]
        if len(later) < len(nums) // 2 or any(len(x["values"]) != 2 or x["numbers"] for x in later):
            continue
        for n, x in enumerate(later):
            x["numbers"] = nums[2 * n:2 * n + 2]
            notes.append((f"indicators[{at + n}]", "stranded_fragment",
                          "figures printed ahead of the row taken as its 分值 and 得分"))
        out.remove(r)
        events[:] = [(a - 1 if a > at else a, label) for a, label in events]
    return out


def _strays_placed(rows: list[dict], before_total: set[int], notes: list) -> list[dict]:
    """Single cells printed after 总分 (`正常运转`, `≥85.00(%)`: targets the extractor read last)
    given, in order, to the rows short of just their values — only when the cells are exactly
    as many as the values those rows lack, and no figure is among them."""
    strays = [r for r in rows if id(r) not in before_total]
    short = [r for r in rows if id(r) in before_total and r["name"] and len(r["values"]) < 2
             and len(r["numbers"]) == 2]
    cells = [c for r in strays for c in ([r["name"]] if r["name"] else []) + r["values"]]
    if (not strays or not short or any(r["numbers"] or r["deviation"] for r in strays)
            or len(cells) != sum(2 - len(r["values"]) for r in short)):
        return rows
    for r in short:
        need = 2 - len(r["values"])
        r["values"], cells = cells[:need] + r["values"], cells[need:]
        notes.append((f"indicators[{rows.index(r)}].target", "stranded_fragment",
                      "a cell printed after 总分 taken as the value this row lacks"))
    return [r for r in rows if id(r) in before_total]


def _label_head_at_end(text: str, items: list[Piece], i: int) -> tuple[str, str] | None:
    """(name, head) when the text ends with a 二级 label's head (`质量`) and a lone `指标`
    stands among the next few pieces: the label's two lines printed apart."""
    if not any(p.text == "指标" for p in items[i:i + 6]):
        return None
    for label in taxonomy.LEVEL2:
        head = label[:-2]
        if len(head) >= 2 and text.endswith(head) and len(text) > len(head) + 1:
            return text[:-len(head)], head
    return None


def _among_labels(items: list[Piece], p: Piece) -> bool:
    return any(q.block == p.block and kind_of(q.text) == "label" for q in items)


def _label_rest(events: list, pending: int, text: str) -> str | None:
    """The text after the end of the pending part-label (events[pending]) it opens with, the
    event completed; None when it does not open with that end."""
    at, part = events[pending]
    full = next((label for label in taxonomy.LEVEL2 if label.startswith(part) and len(label) > len(part)
                 and text.startswith(label[len(part):])), None)
    if full is None:
        # a middle piece (`社会` … `效益` … `指标`): the label grows, its end still to come
        grown = part + text
        if any(label.startswith(grown) and len(label) > len(grown) for label in taxonomy.LEVEL2):
            events[pending] = (at, grown)
            return ""
        return None
    events[pending] = (at, full)
    return text[len(full) - len(part):]


def _label_at(rows: list[dict], cur: dict, kind: str) -> float:
    """Where a label read now stands among the rows: after a complete row it heads the next
    one; inside a row's cells it is between (x.5); before any cell, at the row begun."""
    return len(rows) + (1 if _complete(cur, kind) else 0.5 if (cur["values"] or cur["numbers"]) else 0)


def _total_pair(figures: list[tuple[int, str]], items: list[Piece]) -> list[tuple[int, str]]:
    """Of the figures after 总分, its own two: a pair printed on one line whose first reads 100
    and the second no more (`100.00 95.65` after a row's stray `18.00`); else the first two."""
    for (a, x), (b, y) in zip(figures, figures[1:]):
        if (b == a + 1 and not items[a].last and parse_number(x) == 100
                and (parse_number(y) is not None and parse_number(y) <= 100)):
            return [(a, x), (b, y)]
    return figures[:2]


def _line_end(items: list[Piece], j: int) -> int:
    while j + 1 < len(items) and not items[j].last:
        j += 1
    return j


def _holds_values(items: list[Piece], j: int, kind: str) -> bool:
    """Piece j starts a line holding a target or actual value (a row's cells, not figures)."""
    if not items[j].first:
        return False
    end = _line_end(items, j)
    return any(_kind_here(p.text, kind) == "value" for p in items[j:end + 1])


def _heads_values(text: str, items: list[Piece], i: int) -> bool:
    """A text that is a row's name by what follows it: no sentence punctuation, and the next
    piece past any 一级/二级 label is a value or a figure."""
    if re.search(r"[，。；,;]", text):
        return False
    while i < len(items) and kind_of(items[i].text) == "label":
        i += 1
    return i < len(items) and _kind_here(items[i].text, "self_evaluation") in ("value", "number")


def _kind_here(text: str, kind: str) -> str:
    """In a self-evaluation's indicator rows weights and scores are bare numbers: a figure with
    % (`90%`) is a target or actual (VALIDATION.md §3)."""
    k = kind_of(text)
    if k == "number" and kind != "target_declaration" and text.endswith("%"):
        return "value"
    return k


def _totals_before(rows: list[dict], cur: dict) -> tuple[str, str] | None:
    """总分 printed after its figures: the last row holds just two figures (weight, score),
    or a complete row carries them as two figures too many; the one that reads 100 is the
    weight, and the score is no more than the weight."""
    for row in (cur, rows[-1] if rows else None):
        if row is None:
            continue
        nums = row["numbers"]
        alone = not row["name"] and not row["values"] and len(nums) == 2
        if not (alone or (row["name"] and len(row["values"]) == 2 and len(nums) == 4)):
            continue
        a, b = nums[-2:]
        if compact(b) in ("100", "100.00", "100.0") and compact(a) not in ("100", "100.00", "100.0"):
            a, b = b, a
        weight, score = parse_number(a), parse_number(b)
        if weight is None or score is None or score > weight:
            continue
        if alone and row is not cur:
            rows.pop()
        else:
            del nums[-2:]
        return a, b
    return None


def _label_and_name(text: str) -> tuple[str, str] | None:
    """A 二级 label printed in the same lines as its row's name (two cells side by side, each
    wrapped): the text starts with the label's head and holds the label's rest further on
    (`服务对象满意达到上级党委满度指标意度` → 服务对象满意度指标 + 达到上级党委满意度)."""
    best = None
    for label in taxonomy.LEVEL2:
        if len(text) <= len(label) or not text.startswith(label[:3]):
            continue
        k = 3
        while k < len(label) and text[k] == label[k]:
            k += 1
        rest = label[k:]
        if rest:
            at = text.find(rest, k)
            if at < 0:
                continue
            name = text[k:at] + text[at + len(rest):]
        else:
            name = text[k:]
        if len(name) >= 2 and (best is None or len(label) > len(best[0])):
            best = (label, name)
    return best


def _record(row: dict, kind: str, orphans: list[str], notes, n: int) -> dict:
    values, numbers = list(row["values"]), list(row["numbers"])
    if kind != "target_declaration" and not values and len(numbers) == 4:
        values, numbers = numbers[:2], numbers[2:]  # a placeholder row: 0 0 0 0
    elif (kind != "target_declaration" and not values and len(numbers) == 3
          and all(parse_number(x) == 0 for x in numbers)):
        values, numbers = numbers[:2], [numbers[0], *numbers[2:]]  # a placeholder row printing three of its four 0s
        notes.append((f"indicators[{n}]", "stranded_fragment",
                      "three 0s for a row of four cells: every cell read as 0"))
    name = row["name"]
    if name is None and orphans:
        name = orphans.pop(0)
        notes.append((f"indicators[{n}].name", "stranded_fragment", "name printed apart from its row's values"))
    if name is None:
        notes.append((f"indicators[{n}].name", "name_missing", "no name found for this row"))
    if kind == "target_declaration":
        return {"level1": None, "level2": None, "name": name, "target": values[0] if values else None}
    target = actual = None
    if len(values) == 2:
        target, actual = values
        if _is_actual(target) and (not _is_actual(actual) or (target.startswith("达成") and not actual.startswith("达成"))):
            target, actual = actual, target
    elif len(values) == 1:
        target = values[0]
        notes.append((f"indicators[{n}].actual", "not_found", "one value found for target and actual"))
    if len(numbers) != 2 or len(values) != 2:
        notes.append((f"indicators[{n}]", "short_row", f"{len(values)} values and {len(numbers)} figures in this row"))
    weight = parse_number(numbers[0]) if numbers else None
    score = parse_number(numbers[1]) if len(numbers) > 1 else None
    return {"level1": None, "level2": None, "name": name, "target": target, "actual": actual, "weight": weight,
            "score": score, "deviation": row["deviation"]}


def _is_actual(text: str) -> bool:
    """An actual printed before its target: no operator where the other has one, or 达成…."""
    return text.startswith("达成") or not re.match(r"^[<>=≥≤≧≦＝]", text)


def assign_levels(rows: list[dict], events: list[tuple[float, str]], notes: list) -> None:
    """Each row's 一级/二级 from the labels: 二级 groups contiguous, in the order their labels
    stand (a label after the last row in the taxonomy's order), each group placed where its
    label stands or, for a label printed apart, by its rows' words; level1 from the taxonomy."""
    n = len(rows)
    if not n:
        return
    level2 = [(at, label) for at, label in events if label in taxonomy.LEVEL2
              and not (label in taxonomy.LEVEL1 and _is_level1_here(label, events))]
    level1 = [(at, label) for at, label in events if label in taxonomy.LEVEL1 and (at, label) not in level2]
    seen, groups = set(), []
    order = list(taxonomy.LEVEL2)
    # a label past the last row's first cells stands after the rows (pdftotext prints merged
    # cells' labels in a block there)
    placed = [(at, label) for at, label in level2 if at <= n - 1]
    apart = [label for at, label in level2 if at > n - 1]
    for at, label in placed:
        if label not in seen:
            seen.add(label)
            groups.append((at, label))
    for label in apart:
        if label in seen:
            continue
        seen.add(label)
        # insert by taxonomy order among the placed ones
        k = order.index(label) if label in order else len(order)
        pos = len(groups)
        for idx, (_, other) in enumerate(groups):
            if (order.index(other) if other in order else len(order)) > k:
                pos = idx
                break
        groups.insert(pos, (None, label))
    if not groups:
        return
    # the template prints its 二级 groups in the taxonomy's order; where a label stands in
    # one-cell-per-line text is only a hint (the extractor's reading order, not the row's)
    groups = _in_template_order(groups, n)
    # labels printed together in one place (a block of labels) say where the first group
    # starts, not where the others do
    seen_at: set[float] = set()
    for k, (at, label) in enumerate(groups):
        if at is not None and at in seen_at:
            groups[k] = (None, label)
        seen_at.add(at)
    g = len(groups)
    groups = groups[:n] if g > n else groups
    g = len(groups)
    words = [(r["name"] or "") + (r.get("target") or "") for r in rows]

    def cost(gi: int, a: int, b: int) -> float:
        at, label = groups[gi]
        fit = sum(taxonomy.affinity(label, words[j]) for j in range(a, b))
        c = -fit + 1e-3 * gi * (b - a)  # on a tie, a row with no telling word stays in the group above
        if at is not None:
            # inside its group a label stands mostly at the group's first row (a slight preference)
            c += 0.1 * (at - a) if a <= at < b else 0.5 * min(abs(at - a), abs(at - (b - 1)))
        return c

    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(g + 1)]
    back = [[0] * (n + 1) for _ in range(g + 1)]
    best[0][0] = 0
    for gi in range(1, g + 1):
        for b in range(gi, n + 1):
            for a in range(gi - 1, b):
                if best[gi - 1][a] == inf:
                    continue
                c = best[gi - 1][a] + cost(gi - 1, a, b)
                if c < best[gi][b]:
                    best[gi][b], back[gi][b] = c, a
    b, bounds = n, []
    for gi in range(g, 0, -1):
        a = back[gi][b]
        bounds.append((a, b))
        b = a
    bounds.reverse()
    guessed = bool(apart) or any(at != int(at) or at > a for (at, _), (a, _) in zip(groups, bounds) if at is not None)
    l1_names = [label for _, label in level1]
    for (at, label), (a, b) in zip(groups, bounds):
        parents = taxonomy.parent_of(label)
        parent = parents[0] if len(parents) == 1 else next((p for p in l1_names if p in parents), None)
        for j in range(a, b):
            rows[j]["level2"] = label
            rows[j]["level1"] = parent
            if guessed:
                notes.append((f"indicators[{j}].level2", "level_ambiguous",
                              "一级/二级 placed by the labels' order and the rows' words (labels printed apart from rows)"))


_LEVEL1_ORDER = ("产出指标", "成本指标", "效益指标", "满意度指标")


def _in_template_order(groups: list[tuple[float | None, str]], n: int) -> list[tuple[float | None, str]]:
    """二级 groups as the template prints them: under each 一级 in the taxonomy's order; the
    一级 blocks in the order their labels first stand among the rows (成本指标 opens a 2024
    declaration, closes nothing in a self-evaluation), a 一级 whose labels all stand after
    the rows put in the usual order (产出, 成本, 效益, 满意度) among the others."""
    def parent(label: str) -> str:
        found = taxonomy.parent_of(label)
        return found[0] if found else ""

    def usual(p: str) -> int:
        return _LEVEL1_ORDER.index(p) if p in _LEVEL1_ORDER else len(_LEVEL1_ORDER)

    parents: list[str] = []
    for at, label in groups:
        if at is not None and at < n and parent(label) not in parents:
            parents.append(parent(label))
    for p in sorted({parent(label) for _, label in groups} - set(parents), key=usual):
        later = next((k for k, q in enumerate(parents) if usual(q) > usual(p)), len(parents))
        parents.insert(later, p)
    order = list(taxonomy.LEVEL2)
    return sorted(groups, key=lambda g: (parents.index(parent(g[1])),
                                         order.index(g[1]) if g[1] in order else len(order)))


def _is_level1_here(label: str, events) -> bool:
    """成本指标 is a 一级 when it stands right before a 二级 of its own (经济成本指标)."""
    labels = [lab for _, lab in events]
    i = labels.index(label)
    return i + 1 < len(labels) and taxonomy.parent_of(labels[i + 1]) == ("成本指标",)
