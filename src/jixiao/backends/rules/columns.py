"""The column-position reader: text that keeps a table's columns by spaces.

Layout-preserving extractors (pdftotext -layout, pdfplumber layout=True) print each table
row as one line per printed line, every cell at its column. The indicator table's header
line (`一级指标 二级指标 三级指标 年度指标值 实际完成值 分值 得分 偏差原因分析…`) gives
where each column starts; every following line is cut at those positions, and a cell's
wrapped lines are rejoined by column under the row they continue.

Positions are counted in characters (code points), not display width: both extractors
place a piece of text at the character column its x position gives, so a CJK character
counts one like a Latin one; verified on their output, where every wrapped line of a
column starts at the column of the header label. A dense line may push its later cells a
few characters right, so a row's values are found by the value grammar (target, actual,
weight, score closing the line or followed by the deviation text), not by position."""

from __future__ import annotations

import re
from functools import lru_cache

from ... import taxonomy
from ...text import compact
from .cells import Cell, Row
from .indicators import _VALUE_CELL
from .layouts import _is_label, _lines, _values, glued

# Header labels of a self-evaluation's indicator table, a space allowed between characters.
_HEADS = (
    ("level1", "一级指标"), ("level2", "二级指标"), ("name", "三级指标"),
    ("target", "年度指标值"), ("actual", "实际完成值"), ("weight", "分值"), ("score", "得分"),
    ("deviation", "偏差"),
)
# A declaration's: its one value column is 指标值, 年度指标值, 项目指标值 or 年度(/项目)指标值.
_DECLARATION_HEADS = (("level1", "一级指标"), ("level2", "二级指标"), ("name", "三级指标"), ("target", "指标值"))
_TARGET_HEAD = re.compile(r"(?:(?:年 ?度|项 ?目) ?)?(?:[(（]/?(?:年度|项目)[)）] ?)?指 ?标 ?值")
_LABEL_COLUMNS = ("level1", "level2")
_TOKEN = re.compile(r"\S+")
_PIECE = re.compile(r"\S+(?: \S+)*")  # a run of text whose gaps are single spaces
_GOAL_WORDS = ("年度总体目标", "预期目标", "实际完成情况", "项目绩效目标", "项目总目标")
# Two goal texts side by side: a self-evaluation's, a declaration's.
_GOAL_PAIRS = (("预期目标", "实际完成情况"), ("项目总目标", "年度总体目标"))
_TARGET = _VALUE_CELL  # a target by its form: =100.00(%), ≥4.00(次)
_TOLERANCE = 1  # a piece may start a character left of its column (rounding of x positions)


@lru_cache(maxsize=None)
def _head(label: str) -> re.Pattern[str]:
    return re.compile(" ?".join(re.escape(ch) for ch in label))


def header_columns(lines: list[str]) -> dict[str, int] | None:
    """Where each column of the indicator table starts, from its header line; None when no
    line holds every column label (the text does not keep columns)."""
    for i, line in enumerate(lines):
        for heads in (_HEADS, _DECLARATION_HEADS):
            found = {}
            for name, label in heads:
                m = (_TARGET_HEAD if heads is _DECLARATION_HEADS and name == "target" else _head(label)).search(line)
                if not m:
                    break  # a label missing: not the header line (most lines miss the first)
                found[name] = m.start()
            if len(found) == len(heads) and list(found.values()) == sorted(found.values()):
                return found if _aligned(lines[i + 1:], found) else None
    return None


def _aligned(lines: list[str], starts: dict[str, int]) -> bool:
    """Whether the table's lines keep the header's columns: a line opening with a 一级 or
    二级 label has it under that header (a page may shift its columns a little right).
    Tabs turned into a fixed number of spaces keep cells apart, not in columns; text with
    every line flush left (a line per printed line) keeps none."""
    layout = ColumnLayout(starts)
    placed, right, firsts = 0, 0, []
    for line in lines:
        if _head("总分").match(line.strip()):
            break
        if not line.strip():
            continue
        at = len(line) - len(line.lstrip())
        firsts.append(at)
        heads = {line.split()[0], compact(_PIECE.search(line).group())}  # `产出 指标` too
        levels = {col for col, labels in (("level1", taxonomy.LEVEL1), ("level2", taxonomy.LEVEL2))
                  if heads & set(labels)}
        if levels:
            placed += 1
            right += layout.column(at) in levels
    indented = sum(at > min(firsts) + _TOLERANCE for at in firsts) if firsts else 0
    return placed > 0 and right >= 0.5 * placed and indented >= 0.3 * len(firsts)


def _goal_cut(text: str) -> tuple[int, int] | None:
    """(left column start, right column start) of two goal texts side by side, from the
    line labelling them (`预期目标 … 实际完成情况`)."""
    for line in text.split("\n"):
        for left_label, right_label in _GOAL_PAIRS:
            left, right = _head(left_label).search(line), _head(right_label).search(line)
            if left and right and right.start() > left.end():
                return left.start(), right.start()
    return None


class ColumnLayout:
    """A form whose text keeps columns by spaces (no tabs, the whole header on one line): a
    self-evaluation's table read row by row under its header, a declaration's a line per row."""

    name = "columns"

    def __init__(self, columns: dict[str, int]):
        self.columns = sorted(columns.items(), key=lambda kv: kv[1])

    @staticmethod
    def detect(text: str, lines: list[str]) -> "ColumnLayout | None":
        if "\t" in text:
            return None
        columns = header_columns(lines)
        return ColumnLayout(columns) if columns else None

    def column(self, at: int) -> str:
        """The column a piece starting at character `at` of its line stands in."""
        name = "vertical"
        for col, start in self.columns:
            if start <= at + _TOLERANCE:
                name = col
        return name

    # -- the indicator table ---------------------------------------------------------------

    def rows(self, text: str, offset: int) -> list[Row]:
        if "actual" not in dict(self.columns):
            return self._declaration_rows(text, offset)
        lines = list(_lines(text, offset))
        if lines and not text.startswith("\n"):
            lines = lines[1:]  # the rest of the header's last line
        rows: list[Row] = []
        current: dict[str, list[Cell]] | None = None
        notes: list[tuple[str, str]] = []
        held: dict[str, list[Cell]] = {}  # text read before any row's values
        blank = False
        for i, (line, start) in enumerate(lines):
            tokens = [Cell(m.group(), start + m.start(), start + m.end(), m.start()) for m in _TOKEN.finditer(line)]
            if not tokens:
                blank = True
                continue
            values = _values(glued(tokens))
            if values is not None:
                if current is not None:
                    rows.append(self._row(current, notes))
                current, notes = self._anchor(tokens, values), []
                for col, cells in held.items():
                    current[col] = [*cells, *current.get(col, [])]
                    notes.append(("stranded_fragment", f"{col} text printed above the row's values joined to it"))
                held, blank = {}, False
                continue
            pieces = self._by_column(tokens)
            labels = {col: cells for col, cells in pieces.items() if col in _LABEL_COLUMNS}
            if current is None:
                if labels and len(labels) == len(pieces):
                    rows.append(Row([_joined(cells) for cells in labels.values()]))
                else:
                    for col, cells in pieces.items():
                        held.setdefault(col, []).extend(cells)
                blank = False
                continue
            # A wrapped line continues the row above it (cells are printed from their top).
            nxt = next((l for l, _ in lines[i + 1:] if l.strip()), "")
            if blank and nxt and lines[i + 1][0].strip():
                notes.append(("stranded_fragment", "a wrapped line between two rows joined to the row above"))
            elif ("rejoined", "cells rejoined from wrapped lines by column") not in notes:
                notes.append(("rejoined", "cells rejoined from wrapped lines by column"))
            new_labels = []
            for col, cells in pieces.items():
                if col in _LABEL_COLUMNS and not self._continues(current.get(col), cells):
                    new_labels.append(_joined(cells))
                    continue
                current.setdefault(col, []).extend(cells)
            if new_labels:
                # A label under a row whose own cell is full, or empty: the next group's.
                rows.append(self._row(current, notes))
                current, notes = None, []
                rows.append(Row(new_labels, [("floating_label", "label printed on a wrapped line")]))
            blank = False
        if current is not None:
            rows.append(self._row(current, notes))
        for col, cells in held.items():
            rows.append(Row([_joined(cells)], [("stranded_fragment", f"{col} text after the last row")]))
        return rows

    def _declaration_rows(self, text: str, offset: int) -> list[Row]:
        """A declaration's table, a row per line: its label cells told by the taxonomy, its target
        the text under the 指标值 column, or a value by the grammar that a line pushed left."""
        target_at = dict(self.columns)["target"]
        rows = []
        lines = list(_lines(text, offset))
        if lines and not text.startswith("\n"):
            lines = lines[1:]  # the rest of the header's last line
        blank = False
        for line, start in lines:
            tokens = [Cell(m.group(), start + m.start(), start + m.end(), m.start()) for m in _TOKEN.finditer(line)]
            tokens = tokens[self._side_label(tokens):]
            cells = glued(tokens)
            # A blank line inside the table is where a page broke (as in the tab layout); the
            # side label's pieces printed there (绩效 / 指标) do not end the gap.
            notes = [("after_break", "first row after a page break")] if blank and rows and cells else []
            blank = not line.strip() or (blank and not cells)
            labels = []
            while cells and _is_label(cells[0]) and (len(labels) < 2 or taxonomy.is_full_label(cells[0].text)):
                labels.append(cells.pop(0))
            if not cells:
                if labels:
                    rows.append(Row(labels, notes))
                continue
            k = len(cells)
            while k > 1 and cells[k - 1].col + _TOLERANCE >= target_at:
                k -= 1
            if k == len(cells) and len(cells) > 1 and line[cells[-2].end - start:cells[-1].col].startswith("  ") \
                    and not _is_label(cells[-2]):
                k -= 1  # a page with columns of its own: the target stands apart from the name
            if k == len(cells) and len(cells) > 1 and _TARGET.match(cells[-1].compact):
                k -= 1
                notes.append(("columns_misaligned", "a target read by its form, left of its column"))
            out = [*labels, _joined(cells[:k])] + ([_joined(cells[k:])] if k < len(cells) else [])
            rows.append(Row(out, notes))
        return rows

    def _side_label(self, tokens: list[Cell]) -> int:
        """How many of a line's first tokens spell the side label 绩效指标 (pieces split by a
        space), or a piece of it left of the table's columns."""
        for k in range(min(4, len(tokens)), 0, -1):
            head = "".join(t.compact for t in tokens[:k])
            if taxonomy.is_vertical_label(head) or (
                    self.column(tokens[k - 1].col) == "vertical" and taxonomy.is_vertical_label(head, prefix=True)):
                return k
        return 0

    def _by_column(self, tokens: list[Cell]) -> dict[str, list[Cell]]:
        out: dict[str, list[Cell]] = {}
        for token in tokens:
            col = self.column(token.col)
            if col == "vertical" and taxonomy.is_vertical_label(token.text, prefix=True):
                continue
            out.setdefault("name" if col == "vertical" else col, []).append(token)
        return out

    def _anchor(self, tokens: list[Cell], values: list[Cell]) -> dict[str, list[Cell]]:
        """A line with a row's values: those by the grammar, the cells before them by position."""
        cells: dict[str, list[Cell]] = {}
        first = values[0].start
        last = values[-1].end
        before = [t for t in tokens if t.end <= first]
        placed = self._by_column(before)
        # A page may shift its columns: label cells are told by the taxonomy, not by position.
        kept = [t for col, pieces in placed.items() for t in pieces]
        labels = []
        for cell in glued(sorted(kept, key=lambda c: c.start)):
            if len(labels) < 2 and not cells.get("name") and _is_label(cell):
                labels.append(cell)
            else:
                cells.setdefault("name", []).append(cell)
        for cell in labels:
            if len(labels) == 2:
                col = "level1" if cell is labels[0] else "level2"
            elif (col := self.column(cell.col)) not in _LABEL_COLUMNS:
                col = "level1" if taxonomy.level_of(cell.text) == 1 else "level2"
            cells.setdefault(col, []).append(cell)
        for col, value in zip(("target", "actual", "weight", "score"), values):
            cells[col] = [value]
        after = [t for t in tokens if t.start >= last]
        if after:
            cells["deviation"] = after
        return cells

    @staticmethod
    def _continues(held: list[Cell] | None, cells: list[Cell]) -> bool:
        """Whether label pieces on a wrapped line finish the label cell above them."""
        if not held:
            return False
        head = "".join(c.compact for c in held)
        return not taxonomy.is_full_label(head) and taxonomy.joined(head, "".join(c.compact for c in cells)) is not None

    def _row(self, cells: dict[str, list[Cell]], notes: list[tuple[str, str]]) -> Row:
        out = []
        for col, _ in self.columns:
            pieces = cells.get(col)
            if not pieces:
                continue
            if col in _LABEL_COLUMNS:
                head = "".join(c.compact for c in pieces[:1])
                tail = "".join(c.compact for c in pieces[1:])
                label = taxonomy.joined(head, tail) if tail else None
                if label and not label[1]:
                    out.append(Cell(label[0], pieces[0].start, pieces[-1].end))
                    continue
            out.append(_joined(pieces))
        return Row(out, list(notes))

    # -- long texts --------------------------------------------------------------------------

    def texts(self, text: str, offset: int) -> list[Cell]:
        """Two goal texts side by side: each line cut at the right text's column."""
        cut = _goal_cut(text)
        if cut is None:
            return [Cell(text.strip(), offset, offset + len(text))] if text.strip() else []
        left_at, right_at = cut
        sides: dict[str, list[Cell]] = {"left": [], "right": []}
        for line, start in _lines(text, offset):
            for m in _PIECE.finditer(line):
                piece = Cell(m.group(), start + m.start(), start + m.end())
                if m.start() < left_at - 2 and compact(piece.text) in "".join(_GOAL_WORDS):
                    continue  # the side label 年度/总体/目标
                sides["right" if m.start() >= right_at - 2 else "left"].append(piece)
        out = []
        for pieces in sides.values():
            if pieces:
                body = "\n".join(p.text for p in pieces)
                out.append(Cell(body, pieces[0].start, pieces[-1].end))
        return out


def _joined(cells: list[Cell]) -> Cell:
    return Cell("".join(c.text for c in cells), cells[0].start, cells[-1].end)
