"""HTML files to a SourceDoc: text outside tables as paragraphs, each table a grid laid out by
the HTML table model (rowspan, colspan), a `<br>` or a block inside a cell a line break in it,
a nested table's text read into its cell. Decoded with the file's meta charset, else as text."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import CorruptFile
from ..schema import SourceDoc
from .rendering import Origins, Rendering, grid
from .text import decode

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)""", re.I)
_BLOCKS = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section", "article", "header",
           "footer", "blockquote", "pre", "dl", "dt", "dd", "caption", "center", "form", "fieldset", "hr", "address"}
_SKIP = {"script", "style", "head", "title", "template", "noscript"}
_SPACE = re.compile(r"[ \t\r\n\f\u00a0\u3000]+")
MAX_SPAN = 1000  # a rowspan or colspan beyond this is a malformed file's, not a form's


def read_html(path: Path) -> SourceDoc:
    data = path.read_bytes()
    return html_doc(_decoded(data, str(path)), path.name, str(path))


def _decoded(data: bytes, name: str) -> str:
    found = _CHARSET.search(data[:4096])
    if found:
        charset = found.group(1).decode("ascii").lower()
        charset = "gb18030" if charset in ("gb2312", "gbk", "gb18030", "x-gbk") else charset
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data, name)[0]


def html_doc(text: str, name: str = "<html>", path: str | None = None) -> SourceDoc:
    """A SourceDoc from HTML text (a test's string, a file's decoded content)."""
    import lxml.html
    from lxml.etree import ParserError

    try:
        root = lxml.html.document_fromstring(text.lstrip("\ufeff"))
    except (ParserError, ValueError) as exc:
        raise CorruptFile(f"{name}: 无法解析 HTML / cannot parse the HTML ({exc})") from None
    out = Rendering()
    line: list[str] = []
    _walk(root, out, line)
    _flush(out, line)
    return out.source_doc(name, path, "html")


def _tag(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _flush(out: Rendering, line: list[str]) -> None:
    text = _SPACE.sub(" ", "".join(line)).strip()
    if text:
        out.paragraph(text)
    line.clear()


def _walk(el, out: Rendering, line: list[str]) -> None:
    """Paragraph text gathered into `line`, flushed at block edges and `<br>`; tables rendered."""
    tag = _tag(el)
    if tag in _SKIP:
        return
    if tag == "table":
        _flush(out, line)
        out.table(_grid(el), f"table {len(out.tables) + 1}")
        return
    if tag == "br":
        _flush(out, line)
    block = tag in _BLOCKS
    if block:
        _flush(out, line)
    if tag and el.text:
        line.append(el.text)
    for child in el:
        _walk(child, out, line)
        if child.tail:
            line.append(child.tail)
    if block:
        _flush(out, line)


def _rows(table) -> list:
    """The table's own rows (thead, tbody, tfoot or directly), not a nested table's."""
    return [tr for tr in table.iter("tr") if next(tr.iterancestors("table"), None) is table]


def _span(cell, name: str) -> int:
    try:
        return max(1, min(int(str(cell.get(name, "1")).strip() or 1), MAX_SPAN))
    except ValueError:
        return 1


def _grid(table):
    """The HTML table model: each cell at the first position its row leaves free."""
    origins: Origins = {}
    taken: set[tuple[int, int]] = set()
    rows = _rows(table)
    for r, tr in enumerate(rows):
        c = 0
        for cell in (child for child in tr if _tag(child) in ("td", "th")):
            while (r, c) in taken:
                c += 1
            rowspan, colspan = min(_span(cell, "rowspan"), len(rows) - r), _span(cell, "colspan")
            origins[(r, c)] = (_cell_text(cell), rowspan, colspan)
            taken.update((r + dr, c + dc) for dr in range(rowspan) for dc in range(colspan))
            c += colspan
    return grid(origins, len(rows), max((c + 1 for _, c in taken), default=0))


def _cell_text(cell) -> str:
    """A cell's text, whitespace collapsed as a browser does; `<br>`, blocks and a nested
    table's rows start new lines."""
    lines: list[str] = []
    line: list[str] = []

    def flush() -> None:
        lines.append(_SPACE.sub(" ", "".join(line)).strip())
        line.clear()

    def walk(el) -> None:
        tag = _tag(el)
        if tag in _SKIP:
            return
        if tag == "table":
            flush()
            for row in _grid(el):
                lines.append(" ".join(c.text.replace("\n", " ") for c in row if c.text))
            return
        if tag == "br" or tag in _BLOCKS:
            flush()
        if tag and el.text:
            line.append(el.text)
        for child in el:
            walk(child)
            if child.tail:
                line.append(child.tail)
        if tag in _BLOCKS:
            flush()

    walk(cell)
    flush()
    return "\n".join(k for k in lines if k)
