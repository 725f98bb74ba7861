"""PDF text layers into text shaped like the layouts the readers know.

pypdfium2 gives each character with its box. Characters are grouped into lines by their
vertical position and ordered left to right; a wide horizontal gap between two characters is
a cell boundary and becomes a tab, so a table comes out as the tab-separated layout. A page
with no text layer is a scan, read by OCR when the `jixiao[ocr]` extra is installed."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

CELL_GAP = 3.0  # a gap wider than this many character widths separates two cells (as in OCR)


@dataclass
class Char:
    text: str
    left: float
    right: float
    bottom: float
    top: float
    group: int = -1  # the OCR box a character was read in (-1: a PDF's own character)

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass
class Rules:
    """A page's table rules, in the boxes' coordinates (y upwards): the heights of its
    horizontal rules, and each vertical rule as (x, low, high)."""

    horizontal: list[float] = field(default_factory=list)
    vertical: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class _Band:
    """The strip between two horizontal rules that vertical rules cut into cells: one table row."""

    low: float
    high: float
    edges: list[float]


def pdf_text(path: Path) -> str:
    """The text of every page of a PDF with a text layer, pages in order."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InputError(f"{path}: 不是可读的 PDF / not a readable PDF ({exc})") from None
    try:
        pages = [text if (text := _page_text(pdf[i])).strip() else _scanned_page(pdf[i], f"{path} page {i + 1}")
                 for i in range(len(pdf))]
    except pdfium.PdfiumError as exc:
        raise InputError(f"{path}: PDF 页面无法读取 / a page of the PDF cannot be read ({exc})") from None
    finally:
        pdf.close()
    return "\n\n".join(pages)  # a page break also ends a paragraph


def _scanned_page(page, name: str) -> str:
    """A page with no text layer, read by OCR (the `jixiao[ocr]` extra)."""
    from .ocr import MISSING, available, image_text

    if not available():
        raise InputError(f"{name}: PDF 页面没有文字层（扫描件）/ the page has no text layer (a scan). {MISSING}")
    return image_text(page.render(scale=2).to_pil(), name)[0]


def _page_text(page) -> str:
    textpage = page.get_textpage()
    try:
        chars = []
        for i in range(textpage.count_chars()):
            text = textpage.get_text_range(i, 1)
            if not text or text in "\r\n":
                continue
            left, bottom, right, top = textpage.get_charbox(i, loose=True)  # advance boxes: glyphs touch
            chars.append(Char(text, left, right, bottom, top))
    finally:
        textpage.close()
    return table_text(chars, line_text, _pdf_rules(page))


def _pdf_rules(page) -> Rules:
    """The page's ruled lines: thin path objects, flat ones horizontal, tall ones vertical."""
    import pypdfium2.raw as pdfium_c

    rules = Rules()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]):
        left, bottom, right, top = obj.get_bounds()
        if top - bottom <= 3 and right - left >= 20:
            rules.horizontal.append((top + bottom) / 2)
        elif right - left <= 3 and top - bottom >= 5:
            rules.vertical.append(((left + right) / 2, bottom, top))
    return rules


def table_text(chars: list[Char], line_text, rules: Rules | None) -> str:
    """Boxes into text where ruled table rows are one line each: a row's boxes go to the cells
    its vertical rules make, a cell's wrapped lines are joined, and cells are tab-separated
    (empty ones too, as a tab-separated table keeps them). Text outside the rules is laid
    out line by line, as `layout_text` does."""
    bands = _bands(rules) if rules else []
    if not bands:
        return layout_text(chars, line_text)
    free: list[Char] = []
    rows: dict[int, list[Char]] = {}
    for char in chars:
        k = next((i for i, b in enumerate(bands) if b.low < char.middle < b.high), None)
        (free if k is None else rows.setdefault(k, [])).append(char)
    entries = [(line[0].top if line else 0.0, min(c.bottom for c in line), line_text(line)) for line in _lines(free)]
    for k, members in rows.items():
        band = bands[k]
        cells: list[list[Char]] = [[] for _ in band.edges[:-1]]
        for char in members:
            i = bisect_right(band.edges, (char.left + char.right) / 2) - 1
            cells[min(max(i, 0), len(cells) - 1)].append(char)
        entries.append((band.high, band.low, "\t".join(_cell_text(cell, line_text) for cell in cells)))
    entries.sort(key=lambda e: -e[0])
    heights = sorted(c.height for c in chars) or [0.0]
    out: list[str] = []
    for i, (top, _, text) in enumerate(entries):
        if i and entries[i - 1][1] - top > heights[len(heights) // 2]:
            out.append("")  # a gap taller than a line: a blank line of the source
        out.append(text)
    return "\n".join(out)


def _cell_text(chars: list[Char], line_text) -> str:
    # A cell's lines are one text wrapped to the cell's width: joined without a break.
    return "".join(line_text(line).replace("\t", " ").strip() for line in _lines(chars))


def _bands(rules: Rules, tolerance: float = 2.0) -> list[_Band]:
    """The table rows the rules enclose: strips between adjacent horizontal rules that at
    least two vertical rules cross from top to bottom."""
    heights = _merged(sorted(rules.horizontal, reverse=True), tolerance)
    bands = []
    for high, low in zip(heights, heights[1:]):
        if high - low <= tolerance:
            continue
        xs = sorted(x for x, lo, hi in rules.vertical if lo <= low + tolerance and hi >= high - tolerance)
        edges = _merged(xs, tolerance)
        if len(edges) >= 2:
            bands.append(_Band(low, high, edges))
    return bands


def _merged(values: list[float], tolerance: float) -> list[float]:
    out: list[float] = []
    for v in values:
        if not out or abs(v - out[-1]) > tolerance:
            out.append(v)
    return out


def layout_text(chars: list[Char], line_text) -> str:
    """Boxes into lines, top first, each written by `line_text`; a taller gap between two
    lines is a blank line of the source, which the readers use."""
    lines = _lines(chars)
    gaps = [a[0].middle - b[0].middle for a, b in zip(lines, lines[1:])]
    # The ordinary line spacing: a low quantile, since text broken by blank lines may have
    # more double gaps than single ones.
    step = sorted(gaps)[len(gaps) // 5] if gaps else 0.0
    out = []
    for i, line in enumerate(lines):
        if i and step > 0:
            out += [""] * max(0, round(gaps[i - 1] / step) - 1)
        out.append(line_text(line))
    return "\n".join(out)


def _lines(chars: list[Char]) -> list[list[Char]]:
    """Characters grouped into lines, top of the page first."""
    visible = sorted((c for c in chars if c.height > 0), key=lambda c: -c.middle)
    lines: list[list[Char]] = []
    middle = 0.0  # the running mean of the current line's character middles
    for char in visible:
        if lines and abs(middle - char.middle) <= 0.5 * max(lines[-1][0].height, char.height):
            lines[-1].append(char)
            middle += (char.middle - middle) / len(lines[-1])
        else:
            lines.append([char])
            middle = char.middle
    return [sorted(line, key=lambda c: c.left) for line in lines]


def line_text(line: list[Char]) -> str:
    widths = sorted(c.right - c.left for c in line if not c.text.isspace() and c.right > c.left)
    unit = widths[len(widths) // 2] if widths else 1.0
    out, previous = [], None
    for char in line:
        if char.text.isspace():
            continue
        if previous is not None:
            gap = char.left - previous.right
            if gap > CELL_GAP * unit:
                out.append("\t")
            elif gap > 0.25 * unit:
                out.append(" ")
        out.append(char.text)
        previous = char
    return "".join(out)
