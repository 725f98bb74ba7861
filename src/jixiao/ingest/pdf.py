"""PDF text layers into text shaped like the layouts the readers know.

pypdfium2 gives each character with its box. Where a page has ruled table rows (thin path
objects), each row becomes one line of tab-separated cells, its vertical rules deciding the
cells and a cell's wrapped lines joined. Elsewhere characters are grouped into lines by their
vertical position and ordered left to right; a wide horizontal gap between two characters is
a cell boundary and becomes a tab. Each page also keeps its characters in the text's order,
so every stretch of text can be traced to where it was printed. A page with no text layer is
a scan, read by the OCR page reader the caller passes (the OCR module lays its characters
out with the same code, and this module never imports it)."""

from __future__ import annotations

import logging
import os
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import InputError, InputTooLarge
from ..schema import Table, TextBox
from .ruled import distinct, ruled_tables

log = logging.getLogger("jixiao")
CELL_GAP = 3.0  # a gap wider than this many of the line's median character widths separates two cells
SCAN_SCALE = 2  # a page with no text layer is rendered for OCR at 2 × 72 = 144 dpi
# The most pixels a page may have to be read: an A3 form scanned at 300 dpi has 17.4 million
# (A4 at 600 dpi, 34.8 million); a larger image is refused before it is decoded, since reading
# one costs about 15 bytes a pixel (a 12000 × 12000 image: 2.2 GB).
MAX_PIXELS = 50_000_000
# The most pages of one document read by OCR (a page with ink and no text layer), unless
# JIXIAO_MAX_OCR_PAGES says otherwise: a page costs seconds, and 200 are a hundred forms.
# A document with more is refused by name before any page is read; blank pages do not count.
MAX_OCR_PAGES = 200
# A page with less ink than this is blank, and read by no engine: the share of its pixels
# clearly unlike its paper, on a copy at most INK_SIDE pixels long. A form page has 0.25 %
# or more, one short line of text 0.03 %, a lone page number 0.003 %, a grey page with
# scanner noise and specks none (the copy averages them away).
BLANK_INK = 5e-5
INK_SIDE = 1000


@dataclass
class Char:
    text: str
    left: float
    right: float
    bottom: float
    top: float
    group: int = -1  # the OCR box a character was read in (-1: a PDF's own character)
    confidence: float | None = None  # the OCR reader's, per character

    @property
    def shown(self) -> bool:
        return self.height > 0 and not self.text.isspace()

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass
class Rules:
    """A page's table rules, in the boxes' coordinates (y upwards): each horizontal rule as
    (y, left, right), each vertical rule as (x, low, high)."""

    horizontal: list[tuple[float, float, float]] = field(default_factory=list)
    vertical: list[tuple[float, float, float]] = field(default_factory=list)


@dataclass
class PageText:
    """One page's text, and its characters in the order the text shows them (spaces and the
    tabs and line ends the layout adds are not characters), for provenance. `height` turns
    the characters' upward y into distances from the page's top (0 for OCR boxes, whose y is
    already the negated pixel row); `unit` is "pt" or "px". `tables` are its ruled tables as
    cells, their spans in `text`."""

    text: str
    chars: list[Char]
    height: float
    unit: str
    tables: list[Table] = field(default_factory=list)


@dataclass
class Band:
    """The strip between two horizontal rules that vertical rules cut into cells: one table row."""

    low: float
    high: float
    edges: list[float]


class ScanReader(Protocol):
    """What reads pages with no text layer (`ocr.PageReader`): `ready` refuses by name, before
    a page is rendered, when it cannot read (its engine not installed); `pages` reads `count`
    (image, name) pairs, taking each from the iterator when it has room for it."""

    def ready(self, name: str) -> None: ...

    def pages(self, images: Iterable[tuple[object, str]], count: int) -> list[PageText]: ...


def pdf_pages(path: Path, ocr: ScanReader | None = None) -> list[PageText]:
    """Every page of a PDF, pages in order: the text layer, or where there is none the page
    image read by `ocr`; without it such a page is an InputError. One page at a time: each is
    closed, and its image dropped, before the next is opened. A blank page is an empty
    PageText; more than `max_ocr_pages()` pages to read by OCR, an InputTooLarge."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise InputError(f"{path}: 不是可读的 PDF / not a readable PDF ({exc})") from None
    try:
        pages = [_with_page(pdf, i, _page_text) for i in range(len(pdf))]
        scans = [i for i, page in enumerate(pages) if not page.text.strip()]
        if len(scans) > max_ocr_pages():  # blank pages do not count: find them, cheaply
            scans = [i for i in scans if not _with_page(pdf, i, lambda p: _blank(p, f"{path} page {i + 1}", ocr))]
            check_ocr_pages(len(scans), str(path))
        names = [f"{path} page {i + 1}" for i in scans]
        if scans and ocr is None:
            raise no_text_layer(names[0])
        if scans:  # rendered here, one at a time as the reader has room (pdfium is not thread-safe)
            images = ((_with_page(pdf, i, lambda p: _scan_image(p, name, ocr)), name) for i, name in zip(scans, names))
            for i, text in zip(scans, ocr.pages(images, len(scans))):
                pages[i] = text
    except pdfium.PdfiumError as exc:
        raise InputError(f"{path}: PDF 页面无法读取 / a page of the PDF cannot be read ({exc})") from None
    finally:
        pdf.close()
    return pages


def _with_page(pdf, i: int, read):
    page = pdf[i]
    try:
        return read(page)
    finally:
        page.close()


def max_ocr_pages() -> int:
    """MAX_OCR_PAGES, or JIXIAO_MAX_OCR_PAGES when set."""
    value = os.environ.get("JIXIAO_MAX_OCR_PAGES", "").strip()
    if not value:
        return MAX_OCR_PAGES
    try:
        limit = int(value)
        if limit < 1:
            raise ValueError
    except ValueError:
        raise InputError(f"JIXIAO_MAX_OCR_PAGES={value}: 应为正整数 / must be a whole number of pages, 1 or more") from None
    return limit


def check_ocr_pages(count: int, name: str) -> None:
    """Refuse, by name and before any is read, a document with more pages to read by OCR than
    `max_ocr_pages()`."""
    limit = max_ocr_pages()
    if count > limit:
        raise InputTooLarge(f"{name}: 有 {count} 页需要 OCR 识别，超过每个文档 {limit} 页的上限（可用环境变量 "
                            f"JIXIAO_MAX_OCR_PAGES 调整，或拆分文件） / {count} pages need OCR, more than the {limit} "
                            f"read per document: split the file, or raise JIXIAO_MAX_OCR_PAGES", size=count,
                            limit=limit)


def ink(image) -> float:
    """The share of an image's pixels clearly unlike (by 64 grey levels) its paper (the median
    grey), measured on a greyscale copy at most INK_SIDE pixels long (made by averaging, so
    specks fade), without a full-size greyscale copy."""
    import numpy as np

    factor = max(1, -(-max(image.size) // INK_SIDE))
    if image.mode not in ("L", "RGB"):  # as the reader will see it: palette, bits, alpha dropped
        image = image.convert("RGB" if image.mode in ("P", "PA", "RGBA", "RGBX", "CMYK", "YCbCr", "LA") else "L")
    small = image.reduce(factor) if factor > 1 else image
    grey = np.asarray(small.convert("L") if small.mode != "L" else small, dtype=np.int16)
    if not grey.size:
        return 0.0
    # either way from the paper: light print on a dark scan is ink too
    return float((np.abs(grey - np.median(grey)) > 64).mean())


def _blank(page, name: str, ocr: ScanReader | None) -> bool:
    """Whether a page with no text layer is blank, from a small rendering (checked first as
    one to be read by OCR would be)."""
    _check_scan(page, name, ocr)
    return ink(page.render(scale=min(SCAN_SCALE, INK_SIDE / max(page.get_size()))).to_pil()) < BLANK_INK


def _scan_image(page, name: str, ocr: ScanReader | None):
    """A page with no text layer as the image OCR reads. Its size is checked before it is
    rendered: a page of a few bytes may claim to be metres wide."""
    _check_scan(page, name, ocr)
    return page.render(scale=SCAN_SCALE).to_pil()


def no_text_layer(name: str, why: str = "") -> InputError:
    """A page with no text layer that cannot be read (`why`: what to install, where that is it)."""
    return InputError(f"{name}: PDF 页面没有文字层（扫描件）/ the page has no text layer (a scan){why}")


def _check_scan(page, name: str, ocr: ScanReader | None) -> None:
    if ocr is None:
        raise no_text_layer(name)
    ocr.ready(name)
    width, height = page.get_size()
    pixels = width * height * SCAN_SCALE**2
    if pixels > MAX_PIXELS:
        raise InputTooLarge(f"{name}: PDF 页面没有文字层且过大（{width:.0f} × {height:.0f} pt，超过 "
                            f"{MAX_PIXELS / 1e6:g} 百万像素），不像一页绩效表 / the page has no text layer (a scan) and "
                            f"is too large to read by OCR ({width:.0f} × {height:.0f} pt = {pixels / 1e6:.0f} million "
                            f"pixels at {72 * SCAN_SCALE} dpi > {MAX_PIXELS / 1e6:g} million)", size=pixels,
                            limit=MAX_PIXELS)


def _page_text(page) -> PageText:
    textpage = page.get_textpage()
    shown = _as_shown(page)
    try:
        chars = []
        for i in range(textpage.count_chars()):
            text = textpage.get_text_range(i, 1)
            if not text or text in "\r\n":
                continue
            # advance boxes (glyphs touch), where the page shows them
            left, bottom, right, top = shown(*textpage.get_charbox(i, loose=True))
            chars.append(Char(text, left, right, bottom, top))
    finally:
        textpage.close()
    text, order, tables = table_layout(chars, _line_text, _pdf_rules(page, shown))
    return PageText(text, order, page.get_height(), "pt", tables)


def _as_shown(page):
    """A box (left, bottom, right, top) in the page's own coordinates moved to where the page
    shows it: from its crop box's corner, turned by its /Rotate (y still upward). pdfium
    draws the page so (review/pages.py), and a page stored on its side is read upright."""
    x0, y0, x1, y1 = page.get_bbox()  # the crop box within the media box, as pdfium shows it
    turn = page.get_rotation() % 360  # clockwise, as shown

    def shown(left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
        if turn == 90:
            return bottom - y0, x1 - right, top - y0, x1 - left
        if turn == 180:
            return x1 - right, y1 - top, x1 - left, y1 - bottom
        if turn == 270:
            return y1 - top, left - x0, y1 - bottom, right - x0
        return left - x0, bottom - y0, right - x0, top - y0

    return shown


def _pdf_rules(page, shown) -> Rules:
    """The page's ruled lines, where the page shows them: thin path objects, flat ones
    horizontal, tall ones vertical."""
    import pypdfium2.raw as pdfium_c

    rules = Rules()
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH]):
        left, bottom, right, top = shown(*obj.get_bounds())
        if top - bottom <= 3 and right - left >= 20:
            rules.horizontal.append(((top + bottom) / 2, left, right))
        elif right - left <= 3 and top - bottom >= 5:
            rules.vertical.append(((left + right) / 2, bottom, top))
    return rules


def table_layout(chars: list[Char], line_text, rules: Rules | None) -> tuple[str, list[Char], list[Table]]:
    """Boxes into text where ruled table rows are one line each: a row's boxes go to the cells
    its vertical rules make, a cell's wrapped lines are joined, and cells are tab-separated
    (empty ones too, as a tab-separated table keeps them). Text outside the rules is laid
    out line by line, as `layout` does. Also the characters in the text's order, and the
    ruled rows as tables of cells (`ruled.ruled_tables`), their spans in the text."""
    bands = table_bands(rules) if rules else []
    if not bands:
        return (*layout(chars, line_text), [])
    free: list[Char] = []
    rows: dict[int, list[Char]] = {}
    # An OCR box's characters go to one row by their mean middle: the label of a cell merged
    # over an even number of rows stands on the rule between two of them (for the cells beside
    # it), and per-character middles drift either side of it.
    boxes: dict[int, list[float]] = {}
    for char in chars:
        if char.group >= 0:
            boxes.setdefault(char.group, []).append(char.middle)
    for char in chars:
        middle = sum(boxes[char.group]) / len(boxes[char.group]) if char.group >= 0 else char.middle
        k = next((i for i, b in enumerate(bands) if b.low <= middle < b.high), None)
        (free if k is None else rows.setdefault(k, [])).append(char)
    # (top, bottom, the line's cells (one for a free line), its characters, its band or None)
    entries = [(line[0].top, min(c.bottom for c in line), [line_text(line)], _shown(line), None)
               for line in _lines(free)]
    for k, members in rows.items():
        band = bands[k]
        cells: list[list[Char]] = [[] for _ in band.edges[:-1]]
        for char in members:
            i = bisect_right(band.edges, (char.left + char.right) / 2) - 1
            cells[min(max(i, 0), len(cells) - 1)].append(char)
        lines = [_lines(cell) for cell in cells]
        entries.append((band.high, band.low, [_cell_text(cell, line_text) for cell in lines],
                        [c for cell in lines for line in cell for c in _shown(line)], k))
    entries.sort(key=lambda e: -e[0])
    heights = sorted(c.height for c in chars) or [0.0]
    out: list[str] = []
    offset = 0  # of the next line in the text
    placed: dict[int, list[tuple[int, str]]] = {}  # each band's cells: (offset, text)
    for i, (top, _, texts, _, band) in enumerate(entries):
        if i and entries[i - 1][1] - top > heights[len(heights) // 2]:
            out.append("")  # a gap taller than a line: a blank line of the source
            offset += 1
        if band is not None:
            starts = [offset + sum(len(t) + 1 for t in texts[:j]) for j in range(len(texts))]
            placed[band] = list(zip(starts, texts))
        out.append("\t".join(texts))
        offset += len(out[-1]) + 1
    tables = ruled_tables(bands, placed, rules.horizontal)
    return "\n".join(out), [c for entry in entries for c in entry[3]], tables


def _shown(line: list[Char]) -> list[Char]:
    return [c for c in line if c.shown]


def _cell_text(lines: list[list[Char]], line_text) -> str:
    # A cell's lines are one text wrapped to the cell's width: joined without a break.
    return "".join(line_text(line).replace("\t", " ").strip() for line in lines)


def table_bands(rules: Rules, tolerance: float = 2.0) -> list[Band]:
    """The table rows the rules enclose: strips between adjacent horizontal rules that at
    least two vertical rules cross from top to bottom."""
    heights = distinct(sorted((y for y, _, _ in rules.horizontal), reverse=True), tolerance)
    bands = []
    for high, low in zip(heights, heights[1:]):
        if high - low <= tolerance:
            continue
        xs = sorted(x for x, lo, hi in rules.vertical if lo <= low + tolerance and hi >= high - tolerance)
        edges = distinct(xs, tolerance)
        if len(edges) >= 3:  # two cells at least: a page border or a framed note is not a table row
            bands.append(Band(low, high, edges))
    return bands


def layout(chars: list[Char], line_text) -> tuple[str, list[Char]]:
    """Boxes into lines, top first, each written by `line_text`; a taller gap between two
    lines is a blank line of the source, which the readers use. Also the characters in the
    text's order."""
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
    return "\n".join(out), [c for line in lines for c in _shown(line)]


def text_boxes(pages: list[PageText], joiner: str = "\n\n") -> list[TextBox]:
    """Where each stretch of the joined pages' text was printed: runs of characters on one
    page, within one cell line and one OCR box, with their box and lowest OCR confidence.
    Empty if the characters cannot be matched to the text one for one."""
    boxes: list[TextBox] = []
    offset = 0
    for number, page in enumerate(pages, 1):
        shown = iter(page.chars)
        run: list[tuple[int, Char]] = []
        for i, letter in enumerate(page.text):
            if letter.isspace():
                continue
            char = next(shown, None)
            if char is None or char.text != letter:
                log.warning("page %d: its text and characters disagree at offset %d; no field boxes", number, i)
                return []
            if run and (char.group != run[-1][1].group or any(c in "\t\n" for c in page.text[run[-1][0] + 1:i])):
                boxes.append(_box(run, offset, number, page))
                run = []
            run.append((i, char))
        if run:
            boxes.append(_box(run, offset, number, page))
        offset += len(page.text) + len(joiner)
    return boxes


def _box(run: list[tuple[int, Char]], offset: int, page: int, text: PageText) -> TextBox:
    chars = [c for _, c in run]
    sure = [c.confidence for c in chars if c.confidence is not None]
    each: list[float | None] | None = None
    if sure:
        each = [None] * (run[-1][0] + 1 - run[0][0])
        for i, c in run:
            each[i - run[0][0]] = None if c.confidence is None else round(c.confidence, 4)
    return TextBox(start=offset + run[0][0], end=offset + run[-1][0] + 1, page=page, unit=text.unit, confidences=each,
                   left=round(min(c.left for c in chars), 1), right=round(max(c.right for c in chars), 1),
                   top=round(text.height - max(c.top for c in chars), 1),
                   bottom=round(text.height - min(c.bottom for c in chars), 1),
                   confidence=round(min(sure), 4) if sure else None)


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
