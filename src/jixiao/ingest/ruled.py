"""A page's ruled table rows (a PDF's path objects, or the rules found in a scan) as tables of
cells, so the back-end reads a printed form's structure instead of re-guessing it from text.

The rows (`pdf.Band`s) touching one another make a table. Its columns are every vertical rule
any of its rows has; a row's cell between two of its own rules spans the columns between them
(colspan). A cell whose bottom rule is not printed continues into the cell below it with the
same two side rules: one merged cell (rowspan), as a merged 一级/二级 label cell is printed, its
label standing at the middle of its rows. Cells keep the spans of their text in the page's
text, which lays each row out as one line of tab-separated cells (`pdf.table_layout`)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Protocol

from ..schema import Span, Table
from .rendering import grid

# (offset of the cell's text in the page text, the text) for each cell of a row, left to right
RowCells = list[tuple[int, str]]
Rule = tuple[float, float, float]  # a horizontal rule: (height, left, right)
# A form's table has some hundreds of cells. A page ruled as a dense grid (squared paper, a
# hostile file) is not handed over as cells, which would cost a cell object per position; its
# text still is.
MAX_CELLS = 20_000


class _Band(Protocol):
    low: float
    high: float
    edges: list[float]


def ruled_tables(bands: list[_Band], cells: dict[int, RowCells], horizontal: list[Rule],
                 tolerance: float = 2.0) -> list[Table]:
    """The tables the rows make, top of the page first; `cells` gives each row's cell texts
    (a row with no text is missing). A table of no text, or of more than MAX_CELLS
    positions, is left out."""
    tables = []
    horizontal = sorted(horizontal)
    for group in _touching(bands, tolerance):
        table = _table([bands[k] for k in group], [cells.get(k) for k in group], horizontal, tolerance)
        if table is not None:
            tables.append(table)
    return tables


def _touching(bands: list[_Band], tolerance: float) -> list[list[int]]:
    """Runs of rows, top first, each row's top rule the bottom rule of the one above."""
    groups: list[list[int]] = []
    for k, band in enumerate(bands):
        if groups and abs(bands[groups[-1][-1]].low - band.high) <= tolerance:
            groups[-1].append(k)
        else:
            groups.append([k])
    return groups


def _table(bands: list[_Band], texts: list[RowCells | None], horizontal: list[Rule], tolerance: float) -> Table | None:
    xs = distinct(sorted(x for band in bands for x in band.edges), tolerance)
    if len(bands) * (len(xs) - 1) > MAX_CELLS:
        return None

    def column(x: float) -> int:  # the column rule nearest x
        i = bisect_left(xs, x)
        return i if i == 0 or (i < len(xs) and xs[i] - x < x - xs[i - 1]) else i - 1

    origins: dict[tuple[int, int], list] = {}  # (row, col) -> [texts, rowspan, colspan, first, last]
    above: dict[tuple[int, int], tuple[int, int]] = {}  # the cell each (left, right) column pair ends in
    for r, (band, row) in enumerate(zip(bands, texts)):
        row = row or [(0, "")] * (len(band.edges) - 1)
        here: dict[tuple[int, int], tuple[int, int]] = {}
        for (start, text), left, right in zip(row, band.edges, band.edges[1:]):
            c0, c1 = column(left), column(right)
            origin = above.get((c0, c1))
            if origin is None or _ruled(horizontal, bands[r - 1].low, (left + right) / 2, tolerance):
                origin = (r, c0)
                origins[origin] = [[], 1, c1 - c0, None, None]
            else:
                origins[origin][1] += 1  # no rule between: the cell above goes on down
            entry = origins[origin]
            if text:
                entry[0].append(text)
                entry[3] = start if entry[3] is None else entry[3]
                entry[4] = start + len(text)
            here[(c0, c1)] = origin
        above = here
    # A cell's lines are one text wrapped to its width (as `pdf._cell_text` joins them).
    rows = grid({at: ("".join(e[0]), e[1], e[2]) for at, e in origins.items()}, len(bands), len(xs) - 1)
    # A merged cell's span runs from its first line to its last: lines printed beside different
    # rows (a label wrapped over two of them) have those rows' other cells between them.
    spans = []
    for (r, c), (_, _, _, first, last) in origins.items():
        if first is not None and rows[r][c].merged_into is None:
            rows[r][c].span = Span(start=first, end=last)
            spans.append(rows[r][c].span)
    if not spans:
        return None
    return Table(rows=rows, span=Span(start=min(s.start for s in spans), end=max(s.end for s in spans)))


def _ruled(horizontal: list[Rule], height: float, x: float, tolerance: float) -> bool:
    """Whether a horizontal rule (`horizontal` sorted) is printed at `height` across `x`."""
    near = horizontal[bisect_left(horizontal, (height - tolerance,)):bisect_right(horizontal, (height + tolerance, 1e30))]
    return any(left - tolerance <= x <= right + tolerance for _, left, right in near)


def distinct(values: list[float], tolerance: float) -> list[float]:
    """Sorted values with those within `tolerance` of the one before dropped (one rule drawn
    twice, or a little apart, is one rule)."""
    out: list[float] = []
    for v in values:
        if not out or abs(v - out[-1]) > tolerance:
            out.append(v)
    return out
