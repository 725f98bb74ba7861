"""Files to a SourceDoc, one reader per source kind: `text` (decoding, page furniture), `pdf`
(text layer), `ocr` (scans), `office` (DOCX, XLSX, XLS), `html`, `cells` (JSON table cells).
A file is dispatched by its suffix; a text file whose content is JSON table cells is read as
such."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import FileMissing, InputError, InputTooLarge, NotRegularFile
from ..schema import Note, SourceDoc, Span, Table
from .text import decode, ingest_text, read_text

__all__ = ["IMAGES", "MAX_FILE_MB", "SCANS", "SCAN_FACTOR", "SUFFIXES", "check_input", "decode", "ingest",
           "ingest_text", "iter_paths", "read_image"]

IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
OFFICE = (".docx", ".xlsx", ".xlsm", ".xls")
HTML = (".html", ".htm")
# Kinds jixiao refuses with a message saying what to save them as (listed so a folder's are named).
OLD_OFFICE = (".doc", ".wps", ".et")
SUFFIXES = (".txt", ".md", ".text", ".json", ".pdf", *IMAGES, *OFFICE, *HTML, *OLD_OFFICE)
# A form document's text is a few hundred KB at most; a limit well above that stops a stray
# dump or log from costing minutes and gigabytes.
MAX_FILE_MB = 20.0
# A scan's pages are images: a PDF or TIFF of a few forms is many times the size of their text.
SCANS = (*IMAGES, ".pdf")
SCAN_FACTOR = 10
_NOT_REGULAR = ((stat.S_ISFIFO, "命名管道", "a named pipe (FIFO)"), (stat.S_ISCHR, "字符设备", "a character device"),
                (stat.S_ISBLK, "块设备", "a block device"), (stat.S_ISSOCK, "套接字", "a socket"))


def ingest(path: str | Path, max_file_mb: float | None = MAX_FILE_MB) -> SourceDoc:
    """One file read: text in any of the usual encodings, a PDF's text layer, a scan's pages
    read by OCR, a Word or Excel file, HTML or JSON table cells (the last four with their
    tables as grids). Only a regular file within the size limit (`check_input`) is opened."""
    path = Path(path)
    check_input(path, max_file_mb)
    suffix = path.suffix.lower()
    if suffix in OLD_OFFICE:
        from .office import refuse_old_format

        refuse_old_format(path)
    if suffix in OFFICE:
        from . import office

        return {".docx": office.read_docx, ".xls": office.read_xls}.get(suffix, office.read_xlsx)(path)
    if suffix in HTML:
        from .html import read_html

        return read_html(path)
    if suffix == ".json":
        from .cells import read_cells

        return read_cells(path)
    if suffix in IMAGES:
        from .ocr import Engines

        return read_image(path, Engines())
    if suffix == ".pdf":
        from . import ocr
        from .pdf import pdf_pages

        return _paged(pdf_pages(path, ocr.PageReader()), path, "pdf text layer")
    return _sniffed(read_text(path), path)


def read_image(path: Path, engine) -> SourceDoc:
    """An image file's pages read by `engine` (`ocr.Engines()`, RapidOCR's engines, as `ingest`
    reads them; benchmarks/tesseract.py passes another in RapidOCR's shape) as one document."""
    from .ocr import file_pages

    return _paged(file_pages(path, engine), path, "ocr")


def _sniffed(doc: SourceDoc, path: Path) -> SourceDoc:
    """A text file whose content is JSON table cells (a table dump saved as .txt) read as cells."""
    head = doc.raw_text.lstrip()[:1]
    if head in ("[", "{"):
        import json

        from .cells import cells_doc, tables_of

        try:
            tables = tables_of(json.loads(doc.raw_text))
        except (ValueError, RecursionError):
            tables = None
        if tables:
            return cells_doc(tables, path.name, str(path))
    return doc


def check_input(path: str | Path, max_file_mb: float | None = MAX_FILE_MB) -> int:
    """The size in bytes of a file fit to read, found without opening it. Raises FileMissing,
    NotRegularFile (a folder, named pipe, device or socket: reading one may never end) or
    InputTooLarge (over `max_file_mb`, ten times that for a PDF or an image; None: no limit),
    each an InputError naming the file."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileMissing(f"{path}: 文件不存在 / file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: 无法读取 / cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise NotRegularFile(f"{path}: 是文件夹而非文件 / is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        zh, en = next(((zh, en) for test, zh, en in _NOT_REGULAR if test(info.st_mode)), ("特殊文件", "a special file"))
        raise NotRegularFile(f"{path}: 不是普通文件，而是{zh}，不予读取 / not a regular file but {en}: jixiao reads "
                             "only regular files (save the data to a file first)")
    limit = None if max_file_mb is None else max_file_mb * (SCAN_FACTOR if path.suffix.lower() in SCANS else 1)
    if limit is not None and info.st_size > limit * 2**20:
        megabytes = info.st_size / 2**20
        raise InputTooLarge(f"{path}: 文件过大（{megabytes:.0f} MB，上限 {limit:g} MB），不像单个绩效表文档 / file too "
                            f"large ({megabytes:.0f} MB > {limit:g} MB) for a form document: split it, or raise "
                            "--max-file-mb", size=megabytes, limit=limit)
    return info.st_size


def _paged(pages, path: Path, encoding: str) -> SourceDoc:
    """A PDF's or a scan's pages as one document, with where each stretch of text was printed.
    A page with no text (the white back of a sheet) is a note; a document of only such pages
    is an error."""
    from .pdf import text_boxes

    blank = [k for k, page in enumerate(pages, 1) if not page.text.strip()]
    if len(blank) == len(pages):
        raise InputError(f"{path}: 没有识别出文字 / no text found in it" if len(pages) == 1 else
                         f"{path}: {len(pages)} 页都没有识别出文字 / no text found on any of its {len(pages)} pages")
    joiner = "\n\n"
    doc = ingest_text(joiner.join(page.text for page in pages), name=path.name, path=str(path), encoding=encoding)
    doc.boxes = text_boxes(pages, joiner)
    offset = 0
    for number, page in enumerate(pages, 1):
        doc.tables += [_moved(table, offset, f"page {number}") for table in page.tables]
        offset += len(page.text) + len(joiner)
    doc.notes = [Note(field="form", code="blank_page", message=f"{path.name} 第 {k} 页没有文字（空白页？），已跳过 / "
                      f"page {k} of {path.name}: no text found (a blank page?); skipped") for k in blank]
    return doc


def _moved(table: Table, offset: int, source: str) -> Table:
    """A page's table with its spans moved from the page's text to the document's."""
    def moved(span: Span | None) -> Span | None:
        return span and Span(start=span.start + offset, end=span.end + offset)

    rows = [[cell.model_copy(update={"span": moved(cell.span)}) for cell in row] for row in table.rows]
    return Table(rows=rows, span=moved(table.span), source=source)


def iter_paths(inputs: list[str | Path]) -> list[Path]:
    """The files named, and the files jixiao reads inside the folders named, in a stable order.
    Every entry with a form file's suffix is kept, regular or not (found by name only: a named
    pipe is never opened), so that reading it names what is wrong with it."""
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and not p.is_dir())
        else:
            out.append(path)
    return out
