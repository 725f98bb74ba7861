"""What the cell-seeing readers (DOCX, XLSX, HTML, JSON cells) share: a full grid built from
its merged cells, and a document's paragraphs and tables rendered to text, each non-empty cell
with the span of its text.

The rendering: a paragraph is a line (its own line breaks kept); a table row is one line of
tab-separated cells, as many as the grid is wide, a position covered by a merge rendered empty
and a line break inside a cell rendered as a space (the cell's own text keeps it); a blank line
follows each table. Page numbers and running lines outside the tables are blanked out as in a
text file."""

from __future__ import annotations

import re

from ..schema import GridCell, Note, SourceDoc, Span, Table
from .text import _blank, _furniture

Origins = dict[tuple[int, int], tuple[str, int, int]]  # (row, col) -> (text, rowspan, colspan)


def cell_text(text: str) -> str:
    """A cell's text as kept on a GridCell: line ends normalised, a tab as a space, each line's
    and the whole text's outer spaces removed."""
    text = re.sub(r"\r\n?|[\v\f\u2028\u2029]", "\n", text).replace("\t", " ")
    return "\n".join(line.strip() for line in text.split("\n")).strip("\n ")


def grid(origins: Origins, height: int = 0, width: int = 0) -> list[list[GridCell]]:
    """The full rectangular grid of a table given its cells' top-left positions: each merge's
    text at its top-left with its rowspan and colspan, every position it covers empty and
    naming that top-left, any position no cell reaches empty. Spans reaching past the grid
    (`height`, `width`: at least the cells' extent) or into another cell are cut short."""
    height = max([height, *(r + 1 for r, _ in origins)])
    width = max([width, *(c + 1 for _, c in origins)])
    rows = [[GridCell() for _ in range(width)] for _ in range(height)]
    taken: set[tuple[int, int]] = set()
    for (r, c), (text, rowspan, colspan) in sorted(origins.items()):
        if (r, c) in taken:  # inside another cell's merge: the first cell keeps the position
            continue
        rowspan, colspan = max(1, min(rowspan, height - r)), max(1, min(colspan, width - c))
        # A merge stops where another cell starts (a malformed file's overlapping spans).
        colspan = next((k for k in range(1, colspan) if (r, c + k) in origins or (r, c + k) in taken), colspan)
        rowspan = next((k for k in range(1, rowspan)
                        if any((r + k, c + j) in origins or (r + k, c + j) in taken for j in range(colspan))), rowspan)
        rows[r][c] = GridCell(text=cell_text(text), rowspan=rowspan, colspan=colspan)
        for dr in range(rowspan):
            for dc in range(colspan):
                taken.add((r + dr, c + dc))
                if dr or dc:
                    rows[r + dr][c + dc] = GridCell(merged_into=(r, c))
    return rows


class Rendering:
    """A document's text built block by block, with its tables and their cells' spans."""

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._length = 0  # of the text so far, line ends included
        self.tables: list[Table] = []
        self.notes: list[Note] = []

    def _add(self, line: str) -> int:
        start = self._length
        self._lines.append(line)
        self._length += len(line) + 1
        return start

    def paragraph(self, text: str) -> None:
        """A paragraph: one line each of its lines (a line break inside it kept)."""
        for line in re.sub(r"\r\n?|[\v\f\u2028\u2029]", "\n", text).split("\n"):
            self._add(line.replace("\t", " ").rstrip())

    def table(self, rows: list[list[GridCell]], source: str) -> Table | None:
        """A grid rendered row by row; its cells' spans set. A grid of no text adds nothing."""
        if not any(cell.text for row in rows for cell in row):
            return None
        start = end = self._length
        for row in rows:
            offset, parts = self._length, []
            for k, cell in enumerate(row):
                shown = "" if cell.merged_into else cell.text.replace("\n", " ")
                cell.span = Span(start=offset, end=offset + len(shown)) if shown else None
                parts.append(shown)
                offset += len(shown) + 1
            end = self._add("\t".join(parts)) + len("\t".join(parts))
        self._add("")
        table = Table(rows=rows, span=Span(start=start, end=end), source=source)
        self.tables.append(table)
        return table

    @property
    def text(self) -> str:
        return "\n".join(self._lines)

    def source_doc(self, name: str, path: str | None, encoding: str) -> SourceDoc:
        """The SourceDoc: furniture outside the tables blanked out, offsets kept."""
        raw = self.text
        furniture = [s for s in _furniture(raw)
                     if not any(t.span.start <= s.end and s.start <= t.span.end for t in self.tables)]
        return SourceDoc(name=name, path=path, encoding=encoding, raw_text=raw, text=_blank(raw, furniture),
                         furniture=furniture, tables=self.tables, notes=self.notes)
