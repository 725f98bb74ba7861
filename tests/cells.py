"""A stand-in for the ingest `cells` reader in tests: JSON table cells (pdfplumber's
`extract_tables` shape: a merged cell's text at its top left, None over the rest) into a
SourceDoc whose text renders each row as a tab-separated line and whose tables carry the
cells with their spans and merges."""

from __future__ import annotations

from jixiao.ingest import ingest_text
from jixiao.schema import GridCell, SourceDoc, Span, Table


def _merges(rows: list[list[str | None]]) -> list[list[tuple[int, int] | None]]:
    """Where each None position belongs: to the cell on its left when that cell is in this row
    (a merge across), else to the cell above (a merge down)."""
    owner: list[list[tuple[int, int] | None]] = []
    for r, row in enumerate(rows):
        owner.append([])
        for c, text in enumerate(row):
            if text is not None:
                owner[r].append(None)
                continue
            left = owner[r][c - 1] if c else None
            if c and (rows[r][c - 1] is not None or (left is not None and left[0] == r)):
                owner[r].append(left or (r, c - 1))
            elif r and c < len(owner[r - 1]):
                owner[r].append(owner[r - 1][c] or (r - 1, c))
            else:
                owner[r].append(None)
    return owner


def source_doc(tables: list[list[list[str | None]]], name: str = "cells.json", before: str = "") -> SourceDoc:
    """A SourceDoc of JSON cells tables; `before` is text printed before the first table."""
    text, built = before, []
    for rows in tables:
        width = max(len(r) for r in rows)
        rows = [list(r) + [""] * (width - len(r)) for r in rows]
        owner = _merges(rows)
        start, grid = len(text), []
        for r, row in enumerate(rows):
            cells, line = [], []
            for c, value in enumerate(row):
                at = len(text) + sum(len(p) + 1 for p in line)
                if value is None:
                    cells.append(GridCell(merged_into=owner[r][c]))
                    line.append("")
                else:
                    cells.append(GridCell(text=value, span=Span(start=at, end=at + len(value)) if value else None))
                    line.append(value)
            text += "\t".join(line) + "\n"
            grid.append(cells)
        for r, row in enumerate(grid):
            for c, cell in enumerate(row):
                if cell.merged_into:
                    mr, mc = cell.merged_into
                    origin = grid[mr][mc]
                    origin.rowspan = max(origin.rowspan, r - mr + 1)
                    origin.colspan = max(origin.colspan, c - mc + 1)
        built.append(Table(rows=grid, span=Span(start=start, end=len(text)), source=f"table {len(built) + 1}"))
    doc = ingest_text(text, name=name)
    return doc.model_copy(update={"tables": built})
