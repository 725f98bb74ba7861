"""Text files to a SourceDoc: encoding detected, line ends normalised, page furniture blanked
out with offsets kept; a form feed (a PDF extractor's page break) is a line end in the text."""

from __future__ import annotations

import codecs
import re
from collections import defaultdict
from pathlib import Path

from ..errors import InputError
from ..schema import SourceDoc, Span
from ..text import is_han

_PAGE_NUMBER = re.compile(r"^[ \t]*(?:[-–—]\s*\d{1,4}\s*[-–—]|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
                          r"|\d{1,4}\s*/\s*\d{1,4}\s*页)[ \t]*$", re.M)
# C0/C1 controls other than tab, line ends and form feed; private use; lone surrogates.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ud800-\udfff]")
_TITLE_WORDS = re.compile(r"财政项目支出绩效|年度\s*[)）]")
# A text box's character counter ("344/1000") that a PDF export leaves inside the text.
_COUNTER = re.compile(r"(?<=\s)\d{1,4}/[1-9]0{2,3}(?=\s)")


def read_text(path: Path) -> SourceDoc:
    """A text file's decoded, cleaned text."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: 无法读取 / cannot be read ({exc.strerror})") from None
    text, encoding = decode(data, str(path))
    return ingest_text(text, name=path.name, path=str(path), encoding=encoding)


def ingest_text(text: str, name: str = "<text>", path: str | None = None, encoding: str = "str") -> SourceDoc:
    """A SourceDoc from text already decoded (a notebook user's string, a test's). A form feed
    (pdftotext starts each page with one) is a line end in `text`, so a title after it starts
    a line; `raw_text` keeps it."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    lines = raw.replace("\f", "\n")
    furniture = _furniture(lines)
    return SourceDoc(name=name, path=path, encoding=encoding, raw_text=raw,
                     text=_blank(lines, furniture), furniture=furniture)


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Bytes as text and the encoding that read them: a BOM's, UTF-16 without one, UTF-8 or
    GB18030. Empty, binary or undecodable data is an InputError naming the file."""
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
    return (is_han(ch) or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"
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
