"""A table row as the rules reader sees it: its cells with their spans and columns."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...text import compact


@dataclass
class Row:
    """One logical table row as a reader sees it, with notes on how it was put together."""

    cells: list["Cell"]
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def start(self) -> int:
        return min(c.start for c in self.cells)

    @property
    def end(self) -> int:
        return max(c.end for c in self.cells)


@dataclass
class Cell:
    """A non-empty piece of text with its absolute span and, where known, its column."""

    text: str
    start: int
    end: int
    col: int | None = None

    @property
    def compact(self) -> str:
        return compact(self.text)
