"""Layout readers: each turns a section of form text into rows of cells.

A reader knows how one kind of text extraction lays a table out (markdown pipes, tabs,
pdftotext's broken lines); it knows nothing of what the cells mean. Adding a layout is
adding a class here and a line in `LAYOUTS`.
"""

from __future__ import annotations

import re
from typing import Protocol

from ...taxonomy import LEVEL1, LEVEL2, is_full_label, is_vertical_label, level_of
from ...text import HAN, compact, is_number, loose, parse_number
from .cells import Cell, Row

_MD_SEPARATOR = re.compile(r"^\s*\|?[\s\-:|]+\|?\s*$")
_TAB_SPLIT = re.compile(r"\t| {2,}|\u3000+")
_SPACES = re.compile(r"\s+")
_CJK = re.compile(HAN)
# VALIDATION.md §3: `label number "%"` (完成率 100%) and a unit in brackets after its number.
_RATE_WORD = re.compile("^" + HAN + "{1,4}[率度]$")
_PERCENT = re.compile(r"^\d[\d.,]*%$")
_BRACKET_UNIT = re.compile(r"^[(（][^()（）]{1,6}[)）]$")
_UNIT_WORD = re.compile("^" + HAN + "{1,2}$")  # 33 家, 8 人: a count and its unit
_LABELS = (*LEVEL1, *LEVEL2)


def _label_prefix(text: str) -> bool:
    return any(label.startswith(text) for label in _LABELS)


def _merge(a: Cell, b: Cell) -> Cell:
    return Cell(a.text + b.text, a.start, b.end, a.col)


def glued(cells: list[Cell]) -> list[Cell]:
    """A line's space-separated pieces put back into cells by the template's vocabulary:
    pieces of one 一级/二级 label (`产出 指标`, `可持 续影 响指`), a rate word and its
    percentage (`完成率 100%`), a number and its bracketed unit (`=100.00 (%)`)."""
    out: list[Cell] = []
    for cell in cells:
        prev = out[-1] if out else None
        text = cell.compact
        if prev is not None and (
                (_RATE_WORD.match(prev.compact) and _PERCENT.match(text))
                or ((_BRACKET_UNIT.match(text) or _UNIT_WORD.match(text)) and re.search(r"\d$", prev.compact))
                or (len(prev.compact) < 9 and prev.compact not in _LABELS and level_of(prev.compact)
                    and _label_prefix(prev.compact + text))):
            out[-1] = _merge(prev, cell)
        else:
            out.append(cell)
    return out


def _lines(text: str, offset: int):
    """(line, absolute start) for each line of `text`, which begins at `offset`."""
    pos = 0
    for line in text.split("\n"):
        yield line, offset + pos
        pos += len(line) + 1


def _split(line: str, start: int, pattern: re.Pattern[str] | str) -> list[Cell]:
    """The non-blank cells of a line split by `pattern` (a regex or a plain separator),
    with spans and column numbers."""
    if isinstance(pattern, str):
        pieces, seps = line.split(pattern), None
    else:
        pieces, seps = pattern.split(line), [m.end() - m.start() for m in pattern.finditer(line)]
    cells, pos = [], 0
    for col, piece in enumerate(pieces):
        body = piece.strip()
        if body:
            lead = pos + piece.index(body[0])
            cells.append(Cell(body, start + lead, start + lead + len(body), col))
        pos += len(piece) + (len(pattern) if seps is None else (seps[col] if col < len(seps) else 0))
    return cells


class Layout(Protocol):
    name: str

    def rows(self, text: str, offset: int) -> list[Row]:
        """The section's rows, one per table row, blank rows and separators left out."""

    def texts(self, text: str, offset: int) -> list[Cell]:
        """The section's text cells in reading order (for long texts such as goals)."""


class _CellLayout:
    def texts(self, text: str, offset: int) -> list[Cell]:
        return [cell for row in self.rows(text, offset) for cell in row.cells]


class MarkdownLayout(_CellLayout):
    """Markdown pipe tables, possibly split across pages into several table pieces."""

    name = "markdown"

    @staticmethod
    def matches(lines: list[str]) -> bool:
        return sum(line.lstrip().startswith("|") for line in lines) >= 0.3 * len(lines)

    def rows(self, text: str, offset: int) -> list[Row]:
        rows = []
        for line, start in _lines(text, offset):
            if not line.strip() or _MD_SEPARATOR.match(line):
                continue
            body = line.strip()
            lead = line.index(body)
            if body.startswith("|"):
                body, lead = body[1:], lead + 1
            cells = _split(body.rstrip("|"), start + lead, "|")
            if cells:
                rows.append(Row(cells))
        return rows


class TabLayout(_CellLayout):
    """Tab-separated cells, or the same with tabs turned into runs of spaces."""

    name = "tabs"

    @staticmethod
    def matches(lines: list[str]) -> bool:
        if not any("\t" in line or "\u3000" in line for line in lines) and _header_broken(lines):
            return False  # runs of spaces in text whose cells break over lines: gaps, not cells
        return sum(bool(_TAB_SPLIT.search(line.strip())) for line in lines) >= 0.3 * len(lines)

    def rows(self, text: str, offset: int) -> list[Row]:
        rows, blank = [], False
        for line, start in _lines(text, offset):
            plain = "\t" in line and "  " not in line and "\u3000" not in line
            cells = _split(line, start, "\t" if plain else _TAB_SPLIT)
            if cells:
                # A blank line inside a table is where a page broke.
                rows.append(Row(cells, [("after_break", "first row after a page break")] if blank and rows else []))
            blank = not cells
        return rows


def _header_broken(lines: list[str]) -> bool:
    """Whether the indicator table's header breaks over lines (`一级指标 二级指标 三级指标`,
    then `年度` / `指标值` below): its cells' text does too."""
    head = next((line for line in lines if loose("一级指标").search(line)), None)
    return head is not None and not loose("指标值").search(head)


class BrokenLineLayout:
    """pdftotext-style text: a cell may break over several lines and a row's values
    share one line. Rows are rebuilt: text lines gather into a name until a line ending in
    target, actual, weight and score closes the row."""

    name = "lines"

    @staticmethod
    def matches(lines: list[str]) -> bool:
        return True

    def texts(self, text: str, offset: int) -> list[Cell]:
        """Paragraphs: runs of non-blank lines."""
        out: list[Cell] = []
        run: list[tuple[str, int]] = []
        for line, start in [*_lines(text, offset), ("", -1)]:
            if line.strip():
                run.append((line, start))
            elif run:
                body = "\n".join(l for l, _ in run)
                lead = len(body) - len(body.lstrip())
                out.append(Cell(body.strip(), run[0][1] + lead, run[-1][1] + len(run[-1][0].rstrip())))
                run = []
        return out

    def rows(self, text: str, offset: int) -> list[Row]:
        lines = [(line, start) for line, start in _lines(text, offset)]
        vertical = _vertical_label_lines(lines)
        rows: list[Row] = []
        pending: list[Cell] = []
        pending_lines: list[list[Cell]] = []
        deviation = ""  # "" closed, "open" after a row that lost points, "started" once text came
        width = 0  # the deviation's first line's width
        for i, (line, start) in enumerate(lines):
            if not line.strip():
                deviation = "" if deviation == "started" else deviation
                continue
            if i in vertical:
                continue
            cells = _extend_label(glued(_split(line, start, _SPACES)), pending_lines, rows)
            pending = [c for held in pending_lines for c in held]  # a label cell may have grown
            if not cells:
                continue
            text_ = "".join(c.compact for c in cells)
            if all(is_full_label(c.text) for c in cells):
                # A label right under a row's values, with no blank line, was printed at the
                # middle of its merged cell: rows above it may belong to it too.
                floating = i > 0 and lines[i - 1][0].strip() and rows and _is_indicator(rows[-1])
                rows.append(Row(cells, [("floating_label", "label printed mid-group")] if floating else []))
                deviation = ""
                continue
            values = _values(cells)
            if values is not None:
                at = cells.index(values[0])
                own_name = _has_name(cells[:at])
                if pending and rows and _is_indicator(rows[-1]) and own_name:
                    # This row prints its own name beside its values, so the text lines
                    # before it are the wrapped ends of the row above (name, deviation);
                    # label-only lines just above it are its own level cells.
                    k = len(pending_lines)
                    while k and all(_is_label(c) for c in pending_lines[k - 1]):
                        k -= 1
                    _continue(rows[-1], pending_lines[:k])
                    pending, pending_lines = [c for line in pending_lines[k:] for c in line], []
                rows.append(_row_from(pending, cells[:at], values, cells[at + 4:]))
                # A row whose values share a line with its name prints its deviation there too
                # (cells top-aligned): a text line below it without one is a wrapped name end.
                lost = _lost_points(rows[-1]) and (not own_name or len(cells) > at + 4)
                tail = cells[at + 4:]
                # A deviation beside values printed below their name goes on below them too.
                pending, pending_lines, deviation = [], [], "open" if lost or (tail and not own_name) else ""
                width = len(line[tail[0].start - start:tail[-1].end - start]) if tail else 0
                continue
            if len(text_) == 1 and _CJK.match(text_) and rows and _is_indicator(rows[-1]) and not pending:
                at = max(_score_at(rows[-1]) - 4, 0)
                name = rows[-1].cells[at]
                rows[-1].cells[at] = Cell(name.text + text_, name.start, max(name.end, cells[-1].end))
                rows[-1].notes.append(("stranded_fragment", f"stranded '{text_}' joined to the row above"))
                continue
            if deviation and not (len(cells) > 1 and _is_label(cells[0])):  # a label opens the next row
                # A wrapped cell's lines are as wide as its first but the last: a shorter line
                # ends the deviation (text with no blank lines shows no other end).
                _append_deviation(rows[-1], cells)
                deviation, width = ("", width) if width and len(line.strip()) < width - 1 else \
                    ("started", width or len(line.strip()))
                continue
            pending.extend(cells)
            pending_lines.append(cells)
        if pending and rows and _is_indicator(rows[-1]) and not all(_is_label(c) for c in pending):
            _continue(rows[-1], pending_lines)  # wrapped ends of the last row, with nothing below
        elif pending:
            rows.append(Row(pending))
        if not any(_is_indicator(r) for r in rows):
            # No line closes with weight and score (a declaration's table): a line is a row.
            return [Row(cells) for line, start in lines if (cells := glued(_split(line, start, _SPACES)))]
        return rows


def _is_label(cell: Cell) -> bool:
    return is_full_label(cell.text) or (level_of(cell.text) is not None and _label_prefix(cell.compact))


def _label_tail(text: str) -> bool:
    """The end of a label a line break cut (`指标`, `度指标`), alone or run into the next label
    (`指标可持续影响指标`)."""
    if len(text) >= 2 and text not in _LABELS and any(label.endswith(text) for label in _LABELS):
        return True
    return any(text.endswith(label) and len(text) > len(label) and _label_tail(text[:-len(label)]) for label in _LABELS)


def _extend_label(cells: list[Cell], pending_lines: list[list[Cell]], rows: list[Row]) -> list[Cell]:
    """A line opening with the rest of a 一级/二级 label cut short on the line above
    (`可持续影响 指` then `标`): the pieces join that label cell where it stands."""
    holders = [line for line in reversed(pending_lines)] + ([rows[-1].cells] if rows else [])
    for holder in holders[:2]:
        at = next((j for j in range(len(holder) - 1, -1, -1) if _is_label(holder[j])), None)
        if at is None or holder[at].compact in _LABELS:
            continue
        while cells and _label_prefix(holder[at].compact + cells[0].compact):
            holder[at] = _merge(holder[at], cells.pop(0))
        break
    return cells


def _vertical_label_lines(lines: list[tuple[str, int]]) -> set[int]:
    """Indexes of one-character lines that spell a vertical label such as 绩/效/指/标."""
    found: set[int] = set()
    singles = [i for i, (line, _) in enumerate(lines) if len(compact(line)) == 1]
    i = 0
    while i < len(singles):
        run, spelled = [singles[i]], compact(lines[singles[i]][0])
        j = i + 1
        while j < len(singles) and is_vertical_label(spelled + compact(lines[singles[j]][0]), prefix=True) \
                and all(not lines[k][0].strip() for k in range(run[-1] + 1, singles[j])):
            run.append(singles[j])
            spelled += compact(lines[singles[j]][0])
            j += 1
        if len(run) > 1 and is_vertical_label(spelled):
            found.update(run)
            i = j
        else:
            i += 1
    return found


def _values(cells: list[Cell]) -> list[Cell] | None:
    """The target, actual, weight and score of an indicator line, if it has them: closing
    the line, or followed only by the start of a deviation text (no number after them)."""
    for end in range(len(cells), 3, -1):
        run, rest = cells[end - 4:end], cells[end:]
        if is_number(run[3].text) and is_number(run[2].text) and not any(is_number(c.text) for c in rest) \
                and (not is_number(run[0].text) or (end == 4 or not is_number(cells[end - 5].text))):
            return run
    return None


def _has_name(cells: list[Cell]) -> bool:
    return any(not is_full_label(c.text) and level_of(c.text) is None for c in cells)


def _row_from(pending: list[Cell], cells: list[Cell], values: list[Cell], deviation: list[Cell] = ()) -> Row:
    # Level labels printed on the row's line stay cells of their own, not part of the name.
    labels = []
    cells = [*pending, *cells]
    while cells and (_is_label(cells[0]) or _label_tail(cells[0].compact)) and len(cells) > 1:
        labels.append(cells.pop(0))
    name_cells = cells
    notes = []
    tail = [Cell("".join(c.text for c in deviation), deviation[0].start, deviation[-1].end)] if deviation else []
    if not name_cells:
        return Row(labels + values + tail, [("name_missing", "no name text before the values")])
    if len(name_cells) > 1:
        notes.append(("rejoined", "name rejoined from text broken over lines"))
    name = Cell("".join(c.text for c in name_cells), name_cells[0].start, name_cells[-1].end)
    return Row([*labels, name, *values, *tail], notes)


def _continue(row: Row, lines: list[list[Cell]]) -> None:
    """Wrapped ends of a row's name and deviation, printed on the lines below it: where a
    line holds two pieces the first continues the name, else a piece continues the
    deviation if the row has one, the name if not. A guess: noted."""
    score = _score_at(row)
    has_deviation = score is not None and score < len(row.cells) - 1
    at = score - 4 if score is not None and score >= 4 else 0
    width = len(row.cells[-1].compact) if has_deviation else 0  # the deviation column's line width
    name_open = True
    for pieces in lines:
        k = _name_share(pieces, width, name_open) if has_deviation else len(pieces)
        to_name, to_dev = pieces[:k], pieces[k:]
        name_open = name_open and bool(to_name)
        if to_name:
            name = row.cells[at]
            row.cells[at] = Cell(name.text + "".join(c.text for c in to_name), name.start, to_name[-1].end)
            row.notes.append(("stranded_fragment", "a wrapped name end printed below the row joined to it"))
        if to_dev:
            _append_deviation(row, to_dev)


def _name_share(pieces: list[Cell], width: int, name_open: bool) -> int:
    """How many of a wrapped line's pieces continue the name beside a deviation: none once a
    line gave the name nothing (a cell's text is one run) or when the line is one piece;
    else the fewest that leave the deviation's part no wider than its first line."""
    if not name_open or len(pieces) < 2:
        return 0
    return next((k for k in range(len(pieces)) if len("".join(c.compact for c in pieces[k:])) <= width),
                len(pieces) - 1)


def _score_at(row: Row) -> int | None:
    """Index of a row's score cell: the second of the last two adjacent numbers."""
    for j in range(len(row.cells) - 1, 0, -1):
        if is_number(row.cells[j].text) and is_number(row.cells[j - 1].text):
            return j
    return None


def _is_indicator(row: Row) -> bool:
    return len(row.cells) >= 5 and _score_at(row) is not None


def _lost_points(row: Row) -> bool:
    # pdftotext puts the deviation column's text after the row; only a row that lost
    # points carries a deviation, which tells it apart from the next row's name.
    if not _is_indicator(row):
        return False
    j = _score_at(row)
    weight, score = parse_number(row.cells[j - 1].text), parse_number(row.cells[j].text)
    return weight is not None and score is not None and score < weight


def _append_deviation(row: Row, cells: list[Cell]) -> None:
    text = "".join(c.text for c in cells)
    if _score_at(row) == len(row.cells) - 1:
        row.cells.append(Cell(text, cells[0].start, cells[-1].end))
        row.notes.append(("deviation_by_layout", "deviation read from the text after a row that lost points"))
    else:
        last = row.cells[-1]
        row.cells[-1] = Cell(last.text + text, last.start, cells[-1].end)


LAYOUTS = (MarkdownLayout, TabLayout, BrokenLineLayout)
