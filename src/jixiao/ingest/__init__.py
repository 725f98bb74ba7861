"""Files to text: encoding detected, line ends normalised, page furniture blanked out."""

from __future__ import annotations

import codecs
import os
import re
import stat
from collections import defaultdict
from pathlib import Path

from .errors import FileMissing, InputError, InputTooLarge, NotRegularFile
from .schema import Note, SourceDoc, Span

SUFFIXES = (".txt", ".md", ".text", ".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff")
IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
# A form document's text is a few hundred KB at most; a limit well above that stops a stray
# dump or log from costing minutes and gigabytes.
MAX_FILE_MB = 20.0
# A scan's pages are images: a PDF or TIFF of a few forms is many times the size of their text.
SCANS = (*IMAGES, ".pdf")
SCAN_FACTOR = 10
_NOT_REGULAR = ((stat.S_ISFIFO, "命名管道", "a named pipe (FIFO)"), (stat.S_ISCHR, "字符设备", "a character device"),
                (stat.S_ISBLK, "块设备", "a block device"), (stat.S_ISSOCK, "套接字", "a socket"))
_PAGE_NUMBER = re.compile(r"^[ \t]*(?:[-–—]\s*\d{1,4}\s*[-–—]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
                          r"|\d{1,4}\s*/\s*\d{1,4}\s*页)[ \t]*$", re.M)
# A text box's character counter ("344/1000") that a PDF export leaves inside the text.
# C0/C1 controls other than tab, line ends and form feed; private use; lone surrogates.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ud800-\udfff]")
_TITLE_WORDS = re.compile(r"财政项目支出绩效|年度\s*[)）]")
_COUNTER = re.compile(r"(?<=\s)\d{1,4}/[1-9]0{2,3}(?=\s)")


def ingest(path: str | Path, max_file_mb: float | None = MAX_FILE_MB) -> SourceDoc:
    """The decoded, cleaned text of one file: text in any of the usual encodings, a PDF's
    text layer, or a scan's pages read by OCR. Only a regular file within the size limit
    (`check_input`) is opened."""
    path = Path(path)
    check_input(path, max_file_mb)
    suffix = path.suffix.lower()
    if suffix in IMAGES:
        from .ocr import file_pages

        return _paged(file_pages(path), path, "ocr")
    if suffix == ".pdf":
        from .pdftext import pdf_pages

        return _paged(pdf_pages(path), path, "pdf text layer")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: 无法读取 / cannot be read ({exc.strerror})") from None
    text, encoding = _decode(data, str(path))
    return ingest_text(text, name=path.name, path=str(path), encoding=encoding)


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
    from .pdftext import text_boxes

    blank = [k for k, page in enumerate(pages, 1) if not page.text.strip()]
    if len(blank) == len(pages):
        raise InputError(f"{path}: 没有识别出文字 / no text found in it" if len(pages) == 1 else
                         f"{path}: {len(pages)} 页都没有识别出文字 / no text found on any of its {len(pages)} pages")
    doc = ingest_text("\n\n".join(page.text for page in pages), name=path.name, path=str(path), encoding=encoding)
    doc.boxes = text_boxes(pages)
    doc.notes = [Note(field="form", code="blank_page", message=f"{path.name} 第 {k} 页没有文字（空白页？），已跳过 / "
                      f"page {k} of {path.name}: no text found (a blank page?); skipped") for k in blank]
    return doc


def ingest_bytes(data: bytes, name: str, path: str | None = None) -> SourceDoc:
    """The decoded, cleaned text of a document's bytes."""
    text, encoding = _decode(data, name)
    return ingest_text(text, name=name, path=path, encoding=encoding)


def ingest_text(text: str, name: str = "<text>", path: str | None = None, encoding: str = "str") -> SourceDoc:
    """A SourceDoc from text already decoded (a notebook user's string, a test's)."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    furniture = _furniture(raw)
    return SourceDoc(name=name, path=path, encoding=encoding, raw_text=raw,
                     text=_blank(raw, furniture), furniture=furniture)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if not data.strip():
        raise InputError(f"{name}: 文件为空 / the file is empty")
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return _strict(data, encoding, name), encoding
    if b"\x00" in data:
        decoded = _utf16_without_bom(data)
        if decoded is None:
            raise InputError(f"{name}: 二进制文件，不是文本 / binary file, not text (NUL bytes); "
                             "convert it to text first (PDF and images: see the README)")
        return decoded
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_like_text(text):
            return text, encoding
    raise InputError(f"{name}: 无法识别编码（试过 UTF-8、GB18030、UTF-16）/ cannot decode the text "
                     "(tried UTF-8, GB18030, UTF-16); save it as UTF-8 and retry")


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text saved without a byte-order mark: the byte order that reads as text."""
    if len(data) % 2:
        return None
    best = None
    for encoding in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        readable = sum(1 for ch in text if _ordinary(ch))
        if _looks_like_text(text) and readable > 0.9 * len(text) and (best is None or readable > best[0]):
            best = (readable, text, encoding)
    return (best[1], best[2]) if best else None


def _ordinary(ch: str) -> bool:
    """A character a Chinese government document is made of: CJK, CJK punctuation, ASCII."""
    return ("\u4e00" <= ch <= "\u9fff" or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"
            or "\u2010" <= ch <= "\u2267" or ch.isascii() and (ch.isprintable() or ch in "\t\n\r"))


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: 不是有效的 {encoding} 文本 / not valid {encoding} text "
                         f"(byte {exc.start})") from None
    if not _looks_like_text(text):
        raise InputError(f"{name}: 二进制文件，不是文本 / binary file, not text")
    return text


def _looks_like_text(text: str) -> bool:
    """Few control characters, private-use or surrogate code points: binary decodes to many."""
    return len(_NOT_TEXT.findall(text)) <= max(2, len(text) // 200)


def _furniture(text: str) -> list[Span]:
    """Spans of page numbers, text-box counters and running headers or footers."""
    spans = [Span(start=m.start(), end=m.end()) for m in _PAGE_NUMBER.finditer(text)]
    spans += [Span(start=m.start(), end=m.end()) for m in _COUNTER.finditer(text)]
    spans += _running_lines(text, spans)
    return sorted(spans, key=lambda s: s.start)


def _running_lines(text: str, page_numbers: list[Span]) -> list[Span]:
    """Short lines repeated next to two or more page numbers: a running header or footer."""
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, line))
        pos += len(line) + 1
    starts = {s.start for s in page_numbers}
    index = {start: i for i, (start, _) in enumerate(lines)}
    near: dict[str, set[int]] = defaultdict(set)
    for start in starts:
        i = index.get(_line_start(text, start))
        if i is None:
            continue
        for j in (i - 2, i - 1, i + 1, i + 2):
            if 0 <= j < len(lines) and _is_running_candidate(lines[j][1]):
                near[lines[j][1].strip()].add(j)
    # The same line at two or more places, each beside a page number.
    repeated = {line for line, places in near.items() if len(places) >= 2}
    return [Span(start=start + len(line) - len(line.lstrip()), end=start + len(line.rstrip()))
            for start, line in lines if line.strip() in repeated]


def _is_running_candidate(line: str) -> bool:
    body = line.strip()
    return 0 < len(body) <= 40 and "|" not in body and "\t" not in body and not _TITLE_WORDS.search(body)


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _blank(text: str, spans: list[Span]) -> str:
    chars = list(text)
    for span in spans:
        for i in range(span.start, span.end):
            if chars[i] != "\n":
                chars[i] = " "
    return "".join(chars)


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
