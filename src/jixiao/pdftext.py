"""PDF text layers into text shaped like the layouts the readers know.

pypdfium2 gives each character with its box. Characters are grouped into lines by their
vertical position and ordered left to right; a wide horizontal gap between two characters is
a cell boundary and becomes a tab, so a table comes out as the tab-separated layout. A page
with no text layer is a scan, read by OCR when the `jixiao[ocr]` extra is installed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

CELL_GAP = 1.6  # a gap wider than this many character widths separates two cells


@dataclass
class Char:
    text: str
    left: float
    right: float
    bottom: float
    top: float

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2

    @property
    def height(self) -> float:
        return self.top - self.bottom


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
    return layout_text(chars, _line_text)


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


def _line_text(line: list[Char]) -> str:
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
