"""Text helpers every stage shares: the FORMAT.md form of a name, printed numbers and blanks,
Chinese characters, NFKC.

Below every stage (readers, validators, grounding, ingest): it imports nothing of jixiao."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_HTML_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_WS = re.compile(r"\s+")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?$")
NULL_MARKS = frozenset({"-", "—", "－", "–", "——", "/"})
# The CJK Unified Ideographs block: a Chinese character. HAN is it as a regex character class
# (`HAN + "{1,3}"`: one to three of them), HAN_RANGE the range to put in a class of one's own.
HAN_RANGE = "\u4e00-\u9fff"
HAN = f"[{HAN_RANGE}]"


def is_han(ch: str) -> bool:
    """Whether the character is a Chinese character (CJK Unified Ideographs)."""
    return "\u4e00" <= ch <= "\u9fff"


def nfkc(text: str) -> str:
    """The text in Unicode NFKC: full-width digits, letters and signs (１２，％＝) as ASCII."""
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=65536)
def compact(text: str) -> str:
    """Text with HTML tags and all whitespace removed: the FORMAT.md form of a name."""
    return _WS.sub("", _HTML_TAG.sub("", text))


def long_text(text: str) -> str:
    """A long text: tags removed, line breaks joined, runs of space folded to one."""
    text = _HTML_TAG.sub(" ", text)
    lines = [line.strip() for line in text.split("\n")]
    joined = ""
    for line in lines:
        if not line:
            continue
        # Chinese lines join without a space; a space only between two Latin/digit ends.
        if joined and joined[-1].isascii() and joined[-1].isalnum() and line[0].isascii() and line[0].isalnum():
            joined += " "
        joined += line
    return re.sub(r"[ \t\u3000]+", " ", joined).strip()


@lru_cache(maxsize=65536)
def is_number(token: str) -> bool:
    return bool(_NUMBER.match(nfkc(token.strip())))


def is_value_token(token: str) -> bool:
    """A number or a printed blank marker: what fills a cell of a funds or totals row."""
    return is_number(token) or token.strip() in NULL_MARKS


@lru_cache(maxsize=65536)
def parse_number(token: str | None) -> float | None:
    """The number a cell prints: separators and a trailing % removed; blanks are None."""
    if token is None:
        return None
    token = nfkc(token.strip())
    if not token or token in NULL_MARKS or not _NUMBER.match(token):
        return None
    return float(token.rstrip("%").replace(",", ""))


@lru_cache(maxsize=256)
def loose(label: str) -> re.Pattern[str]:
    """A pattern for a label whose characters a layout may separate by spaces or line breaks."""
    return re.compile(r"\s*".join(re.escape(ch) for ch in label))


def clipped(text: str, limit: int) -> str:
    """`text` cut to its first `limit` characters, ` …` marking the cut (a quote, an error's
    detail: enough to say what, never a whole page or prompt)."""
    return text if len(text) <= limit else text[:limit] + " …"


def trimmed(text: str, start: int, end: int, junk: str = " \t\n|") -> tuple[int, int]:
    """The span [start, end) narrowed to its first and last character not in `junk`."""
    while start < end and (text[start] in junk or text[start].isspace()):
        start += 1
    while end > start and (text[end - 1] in junk or text[end - 1].isspace()):
        end -= 1
    return start, end
