"""The cell-sequence reader: text that prints one table cell per line (pdftotext's default).

Such text keeps no columns and no rows: each cell stands on its own (a wrapped cell over a
few lines, cells apart by blank lines), in the order the extractor's reading order gives, and
merged 一级/二级 labels and some names come in a block after the rows. The reader pairs labels
with values by the template: a header label with the next value of its kind, a fund row label
with the six figures after it, indicator rows as runs of (name, target, actual, weight, score
[, deviation]) told apart by the value grammar (VALIDATION.md §3), 一级/二级 labels placed by
where they stand and by the taxonomy's order. Everything it places by guesswork is noted."""

from __future__ import annotations

import re
import unicodedata

from ...dates import iso_date
from ...schema import (
    Chunk, DeclarationFunds, DeclarationIndicator, Form, FundRow, Note, SelfEvaluation, SelfEvaluationFunds,
    SelfEvaluationIndicator, TargetDeclaration,
)
from ... import taxonomy
from ...text import HAN, NULL_MARKS, is_number, long_text, parse_number
from .cells import Cell
from .fields import Anchors, amount_unit, year
from .layouts import glued
from .reader import _DEFAULT_COLUMNS, _HEADER, _TD_FUND_ROWS
from .sequence_funds import fund_figure, placed_funds
from .sequence_rows import Piece, assign_levels, rows_of

_DATE = re.compile(r"^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?$")
_ORG = re.compile(r"(?:政府|办事处|中心|局|委员会|街道|镇|区|所|站|馆|院|校|会|部|室|队)(?:\(汇总\)|（汇总）)?$")
_TITLE_YEAR = re.compile(r"^[（(](\d{4})$")
_COUNT = re.compile(r"^\d+" + HAN + "{1,2}$")  # 3人, 33家: a count inside a name's line
_UNIT_MARK = re.compile(r"[(（][%％]?[万元]*[)）]$")  # 执行率(%), 项目资金（万元）
_NOISE = ("年初预算数", "全年预算数", "全年执行数", "分值", "分数", "执行率", "得分", "年度指标值", "实际完成值",
          "偏差原因分析", "改进措施", "三级指标", "一级指标", "二级指标", "年度总体目标", "预期目标", "实际完成情况",
          "项目总目标", "项目绩效目标", "绩效指标", "评分等级", "总分", "指标值", "项目资金", "年度", "实际", "完成值")


def is_cell_sequence(text: str) -> bool:
    """Mostly one short cell per line, apart by blank lines, no tabs or column gaps."""
    lines = text.split("\n")
    filled = [line.strip() for line in lines if line.strip()]
    blank = len(lines) - len(filled)
    if len(filled) < 20 or blank < 0.3 * len(filled):
        return False  # every form is asked: most fail here, before the counts below
    short = sum(len(line) <= 14 for line in filled)
    gaps = sum("\t" in line or "  " in line or "|" in line for line in filled)
    # A line per printed line (a row's values on one line, indented cells) is another layout.
    rows = sum(len(line.split()) >= 4 for line in filled)
    indented = sum(line[:1] in " \u3000" for line in lines if line.strip())
    return (short >= 0.8 * len(filled) and gaps <= 0.02 * len(filled) and rows <= 0.05 * len(filled)
            and indented <= 0.02 * len(filled))


def pieces(text: str, offset: int) -> list[Piece]:
    """The text's cells in order: a line cut at its spaces where the pieces are values or labels
    (`≥46000.00(册) 38823.00(册) 6.00`, `产出指标 数量指标`), the wrapped lines of one cell joined."""
    out: list[Piece] = []
    pos, block = 0, 0
    for line in text.split("\n"):
        start = offset + pos
        pos += len(line) + 1
        body = line.replace("\f", " ").strip()
        if not body:
            block += 1
            continue
        lead = line.index(body[0])
        cells, at = [], start + lead
        for m in re.finditer(r"\S+", body):
            cells.append(Cell(m.group(), at + m.start(), at + m.end()))
        cells = glued(cells)
        if len(cells) > 1 and not all(_splittable(c.compact) for c in cells[1:]):
            cells = _resplit(cells)
        for i, cell in enumerate(cells):
            out.append(Piece(cell.compact, cell.start, cell.end, block, first=i == 0, last=i == len(cells) - 1))
    return _joined(_wrapped_cells(out))


def _wrapped_cells(items: list[Piece]) -> list[Piece]:
    """A block of text lines alone, each as wide as the others but the last (`一至三层党` /
    `建中心建设`, `经济效益指` / `标`): one narrow cell wrapped at its width, joined."""
    out: list[Piece] = []
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1].block == items[i].block:
            j += 1
        block = items[i:j + 1]
        i = j + 1
        lines = _lines_of(block)
        if len(lines) > 1 and _one_wrapped_cell(lines):
            out.append(Piece(_rejoined(["".join(p.text for p in line) for line in lines]), block[0].start,
                             block[-1].end, block[0].block))
        else:
            out.extend(block)
    return out


def _lines_of(block: list[Piece]) -> list[list[Piece]]:
    lines: list[list[Piece]] = []
    for p in block:
        if p.first or not lines:
            lines.append([])
        lines[-1].append(p)
    return lines


def _rejoined(lines: list[str]) -> str:
    """A wrapped cell's lines joined; a 一级/二级 label whose break printed a character twice
    (`可持续影响` / `响指标`) joined as the label."""
    text = lines[0]
    for line in lines[1:]:
        label = taxonomy.joined(text, line)
        text = label[0] if label and not label[1] else text + line
    return text


def _one_wrapped_cell(lines: list[list[Piece]]) -> bool:
    """Every line text (a count printed in it, `保洁人员 3 人`, stays part of it) and every
    line but the last as wide as the others."""
    from .sequence_rows import kind_of
    if not all(kind_of(line[0].text) == "text" and not _is_label_cell(line[0].text)
               and all(_COUNT.match(p.text) for p in line[1:]) for line in lines):
        return False
    widths = [_width("".join(p.text for p in line)) for line in lines]
    full = widths[:-1]
    # a CJK character is two columns, a digit one: a full line may end a column short
    return max(full) - min(full) <= 2 and widths[-1] <= max(full)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _splittable(text: str) -> bool:
    from .sequence_rows import kind_of
    # a header label and its date or name printed on one line (`计划完成日期 2024-12-31`) stay apart
    return kind_of(text) in ("label", "value", "number") or _is_noise(text) or text in _HEADER or bool(_DATE.match(text))


def _is_noise(text: str) -> bool:
    """A column header of the form (`分值`, `执行率(%)`), never a value."""
    return _UNIT_MARK.sub("", text) in _NOISE


def _resplit(cells: list[Cell]) -> list[Cell]:
    """A line of text with stray spaces (`活 动。`): one cell, but values and labels at its end
    or start (`公共文化活动策划举办场次 =56.00(场)`, `上海市…办事处 实施单位`) kept apart."""
    head = 0
    while head < len(cells) - 1 and _splittable(cells[head].compact) and not is_number(cells[head].compact):
        head += 1
    tail = len(cells)
    while tail > head + 1 and _splittable(cells[tail - 1].compact):
        tail -= 1
    if tail - head >= 2 and tail < len(cells) and cells[tail].compact.startswith("达成"):
        tail -= 1  # `长效管理机制健全性 健全且执行有效 达成指标`: a qualitative target before its actual
    middle = Cell("".join(c.compact for c in cells[head:tail]), cells[head].start, cells[tail - 1].end)
    return [*cells[:head], middle, *cells[tail:]]


def _joined(items: list[Piece]) -> list[Piece]:
    """Wrapped lines of one text cell joined: a text piece alone on its line continues the text
    piece on the line above, in the same block, when that one filled its line."""
    from .sequence_rows import kind_of
    out: list[Piece] = []
    open_at: int | None = None  # a text cell that began a line the row's values ended
    labels_only = False  # the pieces so far on this line are 一级/二级 labels
    for p in items:
        prev = out[-1] if out else None
        if p.first and not p.last and kind_of(p.text) == "text":
            # a name cell opening its block, not a line inside a long wrapped text
            open_at = len(out) if prev is None or prev.block != p.block else None
        elif not p.first and not p.last and labels_only and kind_of(p.text) == "text":
            open_at = len(out)  # `经济效益 指标 不产生直接经济 0` / `效益`: the name after its label
        elif p.first:
            if (open_at is not None and p.last and out[open_at].block == p.block
                    and kind_of(p.text) == "text"
                    and len(p.text) <= 6 and p.text not in _NOISE and p.text not in _HEADER
                    and not taxonomy.is_full_label(p.text) and kind_of(prev.text) != "text"):
                # `成本控制在预算 完成率 100%` / `内`: the name's wrapped line below its row's value
                o = out[open_at]
                out[open_at] = Piece(o.text + p.text, o.start, o.end, o.block, o.first, o.last)
                continue
            open_at = None
        if (prev is not None and prev.block == p.block and prev.last and p.first and p.last
                and kind_of(prev.text) == "text" and kind_of(p.text) in ("text", "number")
                and p.text not in _HEADER and prev.text not in _HEADER and not _is_noise(p.text)
                and not any(p.text.startswith(label) for label in _HEADER)
                and (len(prev.text) >= 12 or (len(prev.text) >= 6 and len(p.text) <= 5))
                and not taxonomy.is_full_label(p.text)):
            out[-1] = Piece(prev.text + p.text, prev.start, p.end, p.block, prev.first, True)
        else:
            out.append(p)
        if p.first:  # a line opening its block with labels
            labels_only = kind_of(p.text) == "label" and (prev is None or prev.block != p.block)
        else:
            labels_only = labels_only and kind_of(p.text) == "label"
    return out


class _Reader:
    def __init__(self, chunk: Chunk):
        self.chunk = chunk
        self.items = pieces(chunk.text, chunk.span.start)
        self.notes: list[Note] = []
        self.used: set[int] = set()

    def note(self, field: str, code: str, message: str) -> None:
        self.notes.append(Note(field=field, code=code, message=message))

    def index(self, label: str, after: int = 0) -> int | None:
        return next((i for i in range(after, len(self.items)) if label in self.items[i].text), None)

    def header(self, labels: dict[str, str]) -> dict:
        """Each header label with the next unused cell of its kind after it."""
        values: dict[str, str | None] = {}
        end = self.index("项目资金") or len(self.items)
        for label, name in labels.items():
            at = self.index(label)
            found = None
            # a label printed past the fund rows (实施单位 after 其他资金) still heads the table
            if at is not None and (at < end + 12 or at < (self.index("一级指标") or 0)):
                for i in range(at + 1, min(len(self.items), at + 14)):
                    run = self.run(i)
                    text = "".join(self.items[j].text for j in run)
                    if set(run) & self.used or _is_label_cell(self.items[i].text) or not _fits(name, text):
                        continue
                    found = run
                    break
            if found is None and name == "project_category":
                # the one unused cell of the category's grammar (`…类`) anywhere in the form
                fits = [[i] for i, p in enumerate(self.items) if i not in self.used and _fits(name, p.text)
                        and not _is_label_cell(p.text) and len(p.text) <= 8]
                if len(fits) == 1:
                    found = fits[0]
                    self.note(name, "stranded_fragment", "the one cell of its kind in the form, printed apart")
            if found is None:
                self.note(name, "not_found", f"{name} not found in the cell sequence")
                values[name] = None
                continue
            self.used.update(found)
            if found[0] - at > 1:
                self.note(name, "stranded_fragment", "value taken as the next cell of its kind after its label")
            if len(found) > 1:
                self.note(name, "rejoined", "a cell's wrapped lines joined")
            values[name] = "".join(self.items[j].text for j in found)
        return values

    def run(self, i: int) -> list[int]:
        """Piece i and the whole lines of text under it in its block: one wrapped cell."""
        run = [i]
        while run[-1] + 1 < len(self.items):
            p, q = self.items[run[-1]], self.items[run[-1] + 1]
            if not (q.block == p.block and p.last and q.first and q.last) or _is_label_cell(q.text) \
                    or _DATE.match(q.text) or is_number(q.text) or run[-1] + 1 in self.used:
                break
            run.append(run[-1] + 1)
        return run

    def numbers_after(self, label: str, count: int, start: int = 0) -> list[str] | None:
        at = self.index(label, start)
        if at is None:
            return None
        run = []
        for p in self.items[at + 1:at + 1 + count]:
            if not (is_number(p.text) or p.text in NULL_MARKS):
                break
            run.append(p.text)
        return run

    def goals(self, count: int) -> list[str | None]:
        start = max((i for i in (self.index("实际完成情况"), self.index("年度总体目标"), self.index("项目总目标"))
                     if i is not None), default=0)
        end = self.index("一级指标", start) or len(self.items)
        # between the goal labels and the indicator table a short text is a goal too
        # (`厉行节约，预` / `算压减为 0`)
        texts = self.blocks(start + 1, end, shortest=6)
        if count == 2 and len(texts) == 1 and (split := self.two_cells(texts[0])):
            # the two goal cells side by side, their lines in one block: the first ends its
            # sentence at a line end (`…治理能力。` / `居委会经费…`)
            self.note("goals", "stranded_fragment", "one text block split at its first sentence end into the two goals")
            texts = list(split)
        if count == 2 and len(texts) < 2:
            tail = self.index("总分", end)
            after = self.blocks(tail or len(self.items), len(self.items))
            if len(texts) == 1 and len(after) > 1:
                # below the table: the goal's cell first, then cells the rows left over (a deviation)
                self.note("goal_actual", "stranded_fragment", "the first text block after 总分 taken as the goal")
                after = after[:1]
            texts += after
        if len(texts) > count:
            self.note("goals", "rejoined", f"{len(texts)} text pieces joined into {count} goal texts")
            texts = [texts[0], "".join(texts[1:])] if count == 2 else ["".join(texts)]
        texts += [None] * (count - len(texts))
        return [long_text(t) if t else None for t in texts]

    def two_cells(self, text: str) -> tuple[str, str] | None:
        at = text.find("。")
        first, rest = text[:at + 1], text[at + 1:]
        if at < 0 or len(rest) < 12 or first + "\n" not in self.chunk.text:
            return None
        return first, rest

    def blocks(self, start: int, end: int, shortest: int | None = None) -> list[str]:
        """The long texts between two cells (or texts of at least `shortest` characters, not all
        figures): each block's text pieces joined."""
        by_block: dict[int, list[str]] = {}
        for i, p in enumerate(self.items[start:end], start):
            if (i not in self.used and p.text not in _NOISE and not _is_label_cell(p.text)
                    and not taxonomy.is_full_label(p.text)):
                by_block.setdefault(p.block, []).append(p.text)
        return [text for texts in by_block.values()
                if _long(text := "".join(texts)) or (shortest is not None and len(text) >= shortest
                                                       and not all(is_number(t) for t in texts))]

    def table(self) -> tuple[int, int]:
        head = self.index("一级指标") or 0
        return head, len(self.items)


def _long(text: str) -> bool:
    return len(text) >= 25 or (len(text) >= 12 and bool(re.search(r"[，。；、,;]", text)))


def _is_label_cell(text: str) -> bool:
    return any(label in text for label in _HEADER) or _is_noise(text) or "项目资金" in text


def _fits(name: str, text: str) -> bool:
    if name in ("planned_start", "planned_end"):
        return bool(_DATE.match(text))
    if _DATE.match(text) or is_number(text):
        return False
    if name in ("supervising_dept", "implementing_unit"):
        return bool(_ORG.search(text))
    if name == "project_nature":
        return text.endswith("项目")
    if name == "project_category":
        return text.endswith("类")
    return not _long(text)


_FUND_KEYS = (("年度资金总额", "total"), ("当年财", "current_year"), ("上年结转", "carryover"), ("其他资金", "other"))
_FUND_FULL = ("年度资金总额", "其中：当年财政拨款", "上年结转资金", "其他资金")


def _fund_rows(r: _Reader) -> dict[str, list[str] | None]:
    """The fund rows' six figures (年初预算数, 全年预算数, 全年执行数, 分值, 执行率, 得分), read in the
    orders an extractor prints the grid in: each row label followed by its six figures; or each
    label followed by its first k figures and the other 6−k of every row after all the labels,
    row by row; or six figures printed apart from their label (given to the one row, in the
    template's order, left without figures before the next labelled row). A row is kept only
    if its 得分 is at most its 分值; any order but the first is noted as a guess."""
    rows: dict[str, list[str] | None] = {key: None for _, key in _FUND_KEYS}
    order = [key for _, key in _FUND_KEYS]
    starts = [i for i in (r.index("项目资金"), *(r.index(label) for label, _ in _FUND_KEYS)) if i is not None]
    if not starts:
        return rows
    start = min(starts)
    end = next((i for i in (r.index("预期目标", start), r.index("一级指标", start)) if i is not None),
               len(r.items))
    runs: list[tuple[str | None, list[str]]] = []   # (row label just before the run or None, figures)
    prev: str | None = None                         # the token before: a row key, "text" or "figure"
    for p in r.items[start:end]:
        key = next((k for label, k in _FUND_KEYS if label in p.text), None)
        if key is None and any(full.endswith(p.text) for full in _FUND_FULL):
            continue                                # the wrapped end of a row label (`款`, `政拨款`)
        if key is None and (is_number(p.text) or p.text in NULL_MARKS):
            if prev == "figure":
                runs[-1][1].append(p.text)
            else:
                runs.append((prev if prev in rows else None, [p.text]))
            prev = "figure"
        else:
            prev = key if key is not None else "text"
    last = max((i for i, (k, _) in enumerate(runs) if k is not None), default=-1)
    guessed = False

    def place(i: int) -> str | None:
        """The row of run i: its label, or the one row without a label before the next labelled run."""
        if runs[i][0] is not None:
            return runs[i][0]
        after = next((k for k, _ in runs[i + 1:] if k is not None), None)
        free = [k for k in order[:order.index(after) if after else len(order)] if rows[k] is None]
        return free[0] if len(free) == 1 or (free and after is None) else None

    heads, tail = runs[:last + 1], [x for _, f in runs[last + 1:] for x in f]
    lead = {len(f) for _, f in heads}
    if heads and len(lead) == 1 and (k0 := lead.pop()) < 6 and len(tail) == (6 - k0) * len(heads):
        # Each row's first k figures by its label, the rest of every row after all the labels.
        for n, (_, f) in enumerate(heads):
            at = place(n)
            if at is None or rows[at] is not None:
                return {key: None for key in rows}
            rows[at] = f + tail[n * (6 - k0):(n + 1) * (6 - k0)]
            guessed = True
    else:
        for k, f in runs:
            if len(f) == 6 and k is not None:
                rows[k] = f
        for n, (k, f) in enumerate(runs):
            if len(f) == 6 and k is None and (at := place(n)) is not None and rows[at] is None:
                rows[at], guessed = f, True
    for k, f in rows.items():
        if f is not None and not _fund_row_agrees(f):
            rows[k] = None
    if guessed and any(rows.values()):
        r.note("funds", "stranded_fragment", "fund figures paired with their rows by the grid's column order")
    if not any(rows.values()) and (placed := placed_funds(_fund_figures(r, start))) is not None:
        r.note("funds", "stranded_fragment", "fund figures scattered by the reading order placed by the grid's "
                                             "arithmetic (the one placement that keeps it)")
        return placed
    return rows


def _fund_figures(r: _Reader, start: int) -> list[tuple[str, str | None]]:
    """Every figure of the funds block up to the indicator table, each with the row whose label
    it is the first figure after; and the figures after a 执行率 printed inside the table."""
    head = r.index("一级指标", start) or len(r.items)
    out: list[tuple[str, str | None]] = []
    pending: str | None = None
    for p in r.items[start:head]:
        key = next((k for label, k in _FUND_KEYS if label in p.text), None)
        if key is not None:
            pending = key
        elif fund_figure(p.text):
            out.append((p.text, pending))
            pending = None
    at = next((i for i in range(head, len(r.items)) if r.items[i].text.startswith("执行率")), None)
    while at is not None and at + 1 < len(r.items) and (fund_figure(r.items[at + 1].text)
                                                        or r.items[at + 1].text in _NOISE):
        at += 1
        if fund_figure(r.items[at].text):
            out.append((r.items[at].text, None))
    return out


def _fund_row_agrees(figures: list[str]) -> bool:
    weight, score = parse_number(figures[3]), parse_number(figures[5])
    return not (weight is not None and score is not None and score > weight + 1e-9)


def _common(r: _Reader) -> dict:
    anchors = Anchors(r.chunk.text, r.chunk.span.start)
    y, (unit, doubt) = year(anchors), amount_unit(anchors)
    if doubt:
        r.note("amount_unit", "unit_disagrees", doubt)
    value = y.value if y else None
    # `(2022` under the title, its `年度)` printed further on: the year in brackets the title opens
    if value is None and (m := next((m for p in r.items[:3] if (m := _TITLE_YEAR.match(p.text))), None)):
        value = int(m.group(1))
        r.note("year", "stranded_fragment", "the year taken from the bracket under the title, 年度) printed apart")
    for name, found in (("year", value), ("amount_unit", unit)):
        if found is None:
            r.note(name, "not_found", f"{name} not found")
    return {"year": value, "amount_unit": unit.value if unit else None}


def _indicators(r: _Reader, kind: str) -> tuple[list[dict], tuple[str | None, str | None]]:
    head, end = r.table()
    # cells the header took (a category printed after the table) are no row's
    rows, events, totals, notes = rows_of([p for i, p in enumerate(r.items[head:end], head) if i not in r.used], kind)
    assign_levels(rows, events, notes)
    for field, code, message in notes:
        r.note(field, code, message)
    return rows, totals


def read_sequence(chunk: Chunk) -> Form:
    """A form from cell-per-line text. Every pairing of a label with a value here is by order,
    not by place, so the whole form is noted `cell_sequence` and always goes to review."""
    r = _Reader(chunk)
    r.note("kind", "cell_sequence", "一格一行的文本：标签与数值按顺序配对，需人工核对 / one cell per line: labels "
                                    "and values paired by their order, not their place; a person checks them")
    if chunk.kind == "target_declaration":
        header = r.header(dict(_HEADER))
        for name in ("planned_start", "planned_end"):
            header[name] = iso_date(header[name]) if header[name] else None
        funds = {}
        for label, key in _TD_FUND_ROWS.items():
            run = r.numbers_after(label, 1)
            funds[key] = parse_number(run[0]) if run else None
        others = [i for i, p in enumerate(r.items) if p.text == "其他资金"]
        vals = [r.items[i + 1].text for i in others if i + 1 < len(r.items) and is_number(r.items[i + 1].text)]
        funds["annual_other"] = parse_number(vals[-1]) if vals else None
        if len(vals) >= 2:
            funds["project_other"] = parse_number(vals[0])
        r.note("funds", "stranded_fragment", "fund figures taken as the next figure after each row label")
        overall, annual = r.goals(2)
        if annual is None:
            overall, annual = None, overall
        rows, _ = _indicators(r, chunk.kind)
        return TargetDeclaration(**header, **_common(r), funds=DeclarationFunds(**funds), goal_overall=overall,
                                 goal_annual=annual, indicators=[DeclarationIndicator(**row) for row in rows],
                                 notes=r.notes)
    header = r.header({k: v for k, v in _HEADER.items() if k in ("项目名称", "主管部门", "实施单位")})
    funds = {}
    for key, run in _fund_rows(r).items():
        if run is not None:
            funds[key] = FundRow(**{col: parse_number(v) for col, v in zip(_DEFAULT_COLUMNS, run)})
        else:
            r.note(f"funds.{key}", "not_found", f"{key}: its six figures not found in the cell sequence")
    expected, actual = r.goals(2)
    rows, (total_weight, total_score) = _indicators(r, chunk.kind)
    if total_score is None:
        r.note("total_score", "not_found", "no 总分 figures found")
    grade_at = r.index("评分等级")
    grade = None
    if grade_at is not None:
        grade = next((p.text for p in r.items[grade_at + 1:] if p.text in ("优", "良", "中", "差")), None)
    return SelfEvaluation(**header, **_common(r), funds=SelfEvaluationFunds(**funds), goal_expected=expected,
                          goal_actual=actual, indicators=[SelfEvaluationIndicator(**row) for row in rows],
                          total_weight=parse_number(total_weight), total_score=parse_number(total_score),
                          grade=grade, notes=r.notes)
