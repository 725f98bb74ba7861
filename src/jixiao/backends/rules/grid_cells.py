"""A chunk's table cells as the grid reader walks them: rows of slots, one per cell a row shows
(a merge once, at its first column), each knowing whether the row is its merge's own."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...schema import Chunk, GridCell, Span
from ...text import NULL_MARKS, compact, parse_number

_PARENS = re.compile(r"[（(][^（()）]*[)）]")


def key(text: str) -> str:
    """A cell's text as a label: whitespace, bracketed units, `其中：`, colons and `*` removed."""
    k = _PARENS.sub("", compact(text)).strip("：:*")
    return k[3:] if k.startswith(("其中：", "其中:")) else k


@dataclass
class Slot:
    """A cell as one row shows it: its first column there, its origin cell, and whether this row
    is the origin's own (False: a merge from a row above covers it)."""

    col: int
    cell: GridCell
    top: bool
    ident: tuple[int, int, int]

    @property
    def text(self) -> str:
        return self.cell.text

    @property
    def key(self) -> str:
        return key(self.cell.text)


@dataclass
class GridRow:
    table: int
    index: int  # within its table
    slots: list[Slot]

    def at(self, col: int) -> Slot | None:
        """The slot covering column `col`."""
        return next((s for s in reversed(self.slots) if s.col <= col), None) if self.slots else None

    @property
    def own(self) -> list[Slot]:
        """The cells this row prints (merges from above left out)."""
        return [s for s in self.slots if s.top]


def is_amount(slot: Slot) -> bool:
    """A fund cell: a number, a null mark or blank."""
    text = compact(slot.text)
    return not text or text in NULL_MARKS or parse_number(text) is not None


def joined(cells: list[Slot]) -> Slot:
    """Cells of one text cut by page breaks as one slot: their texts joined, spanning them all."""
    if len(cells) == 1:
        return cells[0]
    spans = [s.cell.span for s in cells if s.cell.span is not None]
    text = "\n".join(s.text for s in cells)
    span = Span(start=spans[0].start, end=spans[-1].end) if spans else None
    return Slot(cells[0].col, GridCell(text=text, span=span), True, cells[0].ident)


def grid_rows(chunk: Chunk) -> list[GridRow]:
    out = []
    for t, table in enumerate(chunk.tables):
        for r, row in enumerate(table.rows):
            slots: list[Slot] = []
            for c in range(len(row)):
                origin_at = row[c].merged_into or (r, c)
                ident = (t, *origin_at)
                if slots and slots[-1].ident == ident:
                    continue
                slots.append(Slot(c, table.origin(r, c), origin_at[0] == r, ident))
            out.append(GridRow(t, r, slots))
    return out
