"""Page images of a read PDF or scan, for review: each page drawn as the reader saw it (a
text-layer page at PT_SCALE, a scanned page straightened as OCR read it), so that every
field's box (`field_boxes`) lands on what it was read from. Pages are cached in the run's
output folder, keyed by the file's content hash: a file changed since it was read is never
drawn under the old reading's boxes."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import tempfile
from pathlib import Path

from ..errors import InputError
from ..ingest import IMAGES

log = logging.getLogger(__name__)
PT_SCALE = 2.0  # a text-layer page drawn at 2 × 72 = 144 dpi: a box in points times this
PAGES_DIR = "pages"
PAGE_SOURCES = (".pdf", *IMAGES)


class PageUnavailable(InputError):
    """A page that cannot be drawn: the file moved, changed since it was read, or holds no such page."""


def box_scale(unit: str) -> float:
    """Pixels of the page image per unit of a FieldBox (points on a text layer, pixels of a scan)."""
    return PT_SCALE if unit == "pt" else 1.0


def shows_pages(source: str | Path | None) -> bool:
    """Whether a document's file has pages to draw (a PDF or an image), by its name."""
    return bool(source) and Path(str(source)).suffix.lower() in PAGE_SOURCES


def page_png(folder: str | Path, source: str | Path, digest: str, page: int) -> bytes:
    """Page `page` (1-based) of the file `source` read with content hash `digest`, as PNG:
    from the cache, or drawn and cached. PageUnavailable when the file at `source` no longer
    has that content (its boxes would be drawn on another page) or has no such page."""
    if not re.fullmatch(r"[0-9a-f]{64}", digest or ""):
        raise PageUnavailable(f"{Path(source).name}: 没有内容哈希 / no content hash recorded")
    cached = Path(folder) / PAGES_DIR / digest / f"{int(page)}.png"
    if cached.is_file():
        return cached.read_bytes()
    from ..store import content_hash

    source = Path(source)
    try:
        same = content_hash(source) == digest
    except OSError:
        same = False
    if not same:
        raise PageUnavailable(f"{source.name}: 原文件已移动、删除或在读取后改动，无法显示页面 / the file moved, was "
                              "deleted or changed since it was read: its pages cannot be shown")
    png = _png(_drawn(source, int(page)))
    try:
        _write_atomically(cached, png)
    except OSError as exc:  # a run folder one may read but not write: served, drawn again next time
        log.warning("page not cached in %s: %s", cached.parent, exc)
    return png


def _drawn(source: Path, page: int):
    """The page as a PIL image, drawn as its boxes were measured."""
    if page < 1:
        raise PageUnavailable(f"{source.name}: 没有第 {page} 页 / no page {page}")
    if source.suffix.lower() == ".pdf":
        return _pdf_page(source, page)
    return _image_page(source, page)


def _pdf_page(source: Path, page: int):
    import pypdfium2 as pdfium

    from ..ingest.ocr import check_pixels, straightened
    from ..ingest.pdf import SCAN_SCALE

    try:
        pdf = pdfium.PdfDocument(str(source))
    except pdfium.PdfiumError:
        raise PageUnavailable(f"{source.name}: 不是可读的 PDF / not a readable PDF") from None
    try:
        if page > len(pdf):
            raise PageUnavailable(f"{source.name}: 没有第 {page} 页 / no page {page}")
        sheet = pdf[page - 1]
        try:
            # As pdf_pages decided: a page with no text layer was rendered and read by OCR.
            scanned = not _has_text(sheet)
            scale = SCAN_SCALE if scanned else PT_SCALE
            width, height = sheet.get_size()
            check_pixels(width * scale, height * scale, f"{source.name} page {page}")
            image = sheet.render(scale=scale).to_pil()
        finally:
            sheet.close()
    finally:
        pdf.close()
    return straightened(image) if scanned else image


def _has_text(sheet) -> bool:
    textpage = sheet.get_textpage()
    try:
        return bool(textpage.get_text_range().strip())
    finally:
        textpage.close()


def _image_page(source: Path, page: int):
    from PIL import Image, UnidentifiedImageError

    from ..ingest.ocr import _opened, check_pixels, straightened

    try:
        with _opened(source, source.name) as image:
            if page > getattr(image, "n_frames", 1):
                raise PageUnavailable(f"{source.name}: 没有第 {page} 页 / no page {page}")
            image.seek(page - 1)
            check_pixels(*image.size, f"{source.name} page {page}")
            return straightened(image.copy())
    except (UnidentifiedImageError, OSError, EOFError, ValueError, Image.DecompressionBombError) as exc:
        raise PageUnavailable(f"{source.name}: 图片无法读取 / the image cannot be read ({type(exc).__name__})") from None


def _png(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=False)
    return buffer.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Written whole or not at all: two requests for one page never serve a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
