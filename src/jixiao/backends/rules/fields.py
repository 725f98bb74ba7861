"""Scalar fields found by their printed labels: header, funds, goals, totals.

Labels are found with whitespace allowed between their characters, so the same code reads
`年度总体目标`, `年度 总体 目标` and `年度\\n总体\\n目标` in every layout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ...taxonomy import is_vertical_label
from ...text import compact, is_value_token, long_text, loose, trimmed
from ...units import disagreement, notes_only, stated_units
from .cells import Cell
from .layouts import Layout

_SEPARATOR_LINE = re.compile(r"^\s*\|?[\s\-:|]+\|?\s*$", re.M)
_TOKEN = re.compile(r"[^\s|]+")
# "(2023 年度)"; a scan's reader may miss the lone opening bracket, so "2023 年度)" too.
_YEAR = re.compile(r"(?:[（(]\s*(\d{4})\s*年\s*度?|(?<!\d)(\d{4})\s*年\s*度)\s*[)）]")
_TERMINAL = tuple("。！？；.!?”」）)")


@dataclass
class Found:
    """A value with the span of the source text it was read from."""

    value: object
    start: int
    end: int
    guess: str | None = None  # how a piece was placed by guesswork, for a note


class Anchors:
    """Label positions within one chunk, in chunk-relative offsets."""

    def __init__(self, text: str, offset: int):
        self.text, self.offset = text, offset

    def at(self, *labels: str, after: int = 0) -> re.Match[str] | None:
        """The earliest match of any of `labels` at or after `after`."""
        matches = [m for label in labels if (m := loose(label).search(self.text, after))]
        return min(matches, key=lambda m: m.start(), default=None)

    def between(self, start: int, end: int) -> Found | None:
        """The compacted text between two chunk offsets, or None when blank."""
        piece = _SEPARATOR_LINE.sub(lambda m: " " * len(m.group()), self.text[start:end])
        value = compact(piece).strip(":：").replace("|", "")
        if not value:
            return None
        a, b = trimmed(piece, 0, len(piece), junk=" \t\n|:：")
        return Found(value, self.offset + start + a, self.offset + start + b)

    def tokens(self, start: int, end: int) -> list[Cell]:
        return [Cell(m.group(), self.offset + start + m.start(), self.offset + start + m.end())
                for m in _TOKEN.finditer(self.text[start:end])]


def labelled_values(anchors: Anchors, labels: list[str], start: int, end: int) -> dict[str, Found | None]:
    """For each label found, the text from it up to the next label (in text order)."""
    hits = []
    for label in labels:
        m = anchors.at(label, after=start)
        if m and m.start() < end:
            hits.append((m, label))
    hits.sort(key=lambda h: h[0].start())
    out = {}
    for i, (m, label) in enumerate(hits):
        stop = hits[i + 1][0].start() if i + 1 < len(hits) else end
        out[label] = anchors.between(m.end(), stop)
        if i and "\n" not in anchors.text[hits[i - 1][0].end():m.start()]:
            _interleaved(anchors, out, hits[i - 1], (m, label), stop)
    return out


def _interleaved(anchors: Anchors, out: dict, left, right, stop: int) -> None:
    """Two labelled cells side by side on one line whose values wrap: the next line holds
    the wrapped ends of both, left then right (`…办事` `处  服务中心`). The first piece
    goes back to the left value. A guess from the layout, so it is marked."""
    text = anchors.text
    eol = text.find("\n", right[0].end(), stop)
    if eol < 0 or out.get(left[1]) is None or out.get(right[1]) is None:
        return
    a, b = out[left[1]], out[right[1]]
    why = "wrapped ends of two side-by-side cells printed on one line; the first piece placed with the left cell"
    left_text, right_text, a_end = str(a.value), text[right[0].end():eol + 1], a.end - anchors.offset
    while eol < stop:  # each following line of two or more pieces: the first wraps the left cell
        nxt = text.find("\n", eol + 1, stop)
        nxt = stop if nxt < 0 else nxt
        pieces = list(_TOKEN.finditer(text, eol + 1, nxt))
        if len(pieces) < 2 or any(is_value_token(p.group()) for p in pieces):
            break
        left_text += compact(pieces[0].group())
        a_end = pieces[0].end()
        right_text += text[pieces[0].end():nxt + 1]
        eol = nxt
    if a_end == a.end - anchors.offset:
        return
    out[left[1]] = Found(left_text, a.start, anchors.offset + a_end, why)
    rest = right_text + text[eol + 1:stop]
    out[right[1]] = Found(compact(rest).strip(":：").replace("|", ""), b.start, b.end, why)


def line_end(text: str, pos: int) -> int:
    i = text.find("\n", pos)
    return len(text) if i < 0 else i


def year(anchors: Anchors) -> Found | None:
    m = _YEAR.search(anchors.text, 0, 300)
    if not m:
        return None
    k = 1 if m.group(1) else 2
    return Found(int(m.group(k)), anchors.offset + m.start(k), anchors.offset + m.end(k))


def amount_unit(anchors: Anchors, label: Found | None = None) -> tuple[Found | None, str | None]:
    """The amount unit, and why it is in doubt when the form states another one too (units.py).
    The 项目资金 label's unit (or `label`, a reader's reading of that cell where the text does not
    print it after the label); where the label has none, a note's (本表金额单位为万元)."""
    stated = stated_units(anchors.text)
    printed = next((s for s in stated if s.where == "label"), None)
    note = next(iter(notes_only(stated)), None)
    found = label if printed is None else None
    if printed is not None or (found is None and note is not None):
        s = printed or note
        found = Found(s.unit, anchors.offset + s.start, anchors.offset + s.end)
    doubt = disagreement(str(found.value), stated) if found is not None else None
    return found, " / ".join(doubt) if doubt else None


def row_slots(anchors: Anchors, labels: list[str], start: int, end: int) -> list[tuple[str, list[Cell]]]:
    """(label, value tokens) for every occurrence of the labels between start and end, in
    text order: the values a label owns are the numbers and blank marks up to the next label."""
    hits = []
    for label in labels:
        pos, found = start, False
        while (m := anchors.at(label, after=pos)) and m.start() < end:
            hits.append((m.start(), m.end(), label))
            pos, found = m.end(), True
        if not found and (m := _wrapped(label).search(anchors.text, start, end)):
            hits.append((m.start(), m.end(), label))
    hits.sort()
    slots = []
    for i, (_, label_end, label) in enumerate(hits):
        stop = hits[i + 1][0] if i + 1 < len(hits) else end
        values = [t for t in anchors.tokens(label_end, stop) if is_value_token(t.text.rstrip(":："))]
        slots.append((label, values))
    return slots


@lru_cache(maxsize=64)
def _wrapped(label: str) -> re.Pattern[str]:
    """A row label whose narrow cell wrapped, its values printed between the two pieces
    (`其中：当年财 18 18 …` then `政拨款`): the head, where the next line opens with the rest."""
    cuts = [rf"{loose(label[:k]).pattern}(?=[^\n]*\n[ \t]*{loose(label[k:]).pattern})"
            for k in range(len(label) - 1, 1, -1)]
    return re.compile("|".join(cuts))


def goal_texts(anchors: Anchors, layout: Layout, start: int, end: int, labels: tuple[str, ...]) -> list[Cell]:
    """The long-text cells between two offsets, label cells left out, cut texts rejoined."""
    label_keys = {compact(label) for label in labels}
    cells = [_without_label_lines(c, label_keys) for c in layout.texts(anchors.text[start:end], anchors.offset + start)]
    return [c for c in cells if c.compact and c.compact not in label_keys and not is_vertical_label(c.text)
            and not _all_labels(c.compact, label_keys)]


def _without_label_lines(cell: Cell, keys: set[str]) -> Cell:
    """A paragraph less its leading lines of labels only (`项目 绩效 目标 项目总目标 …`, a label
    broken over lines `年度` / `总体` / `目标`) and its trailing lines that spell a side label
    (`绩效 指标` of the table below)."""
    lines = cell.text.split("\n")
    skip, spelled = 0, ""
    for i, line in enumerate(lines[:-1]):
        spelled += compact(line)
        if _all_labels(spelled, keys):
            skip = i + 1
        elif not _label_start(spelled, keys):
            break
    drop = next((k for k in range(min(4, len(lines) - skip - 1), 0, -1)
                 if is_vertical_label("".join(compact(line) for line in lines[-k:]))), 0)
    if not skip and not drop:
        return cell
    cut = sum(len(line) + 1 for line in lines[:skip])
    rest = "\n".join(lines[skip:len(lines) - drop])
    lead = len(rest) - len(rest.lstrip())
    return Cell(rest.strip(), cell.start + cut + lead, cell.start + cut + len(rest.rstrip()))


def _stripped_labels(text: str, keys: set[str]) -> str:
    changed = True
    while changed:
        changed = False
        for key in sorted(keys, key=len, reverse=True):
            if key in text:
                text, changed = text.replace(key, ""), True
    return text


def _all_labels(text: str, keys: set[str]) -> bool:
    text = _stripped_labels(text, keys)
    return not text or is_vertical_label(text)


def _label_start(text: str, keys: set[str]) -> bool:
    """Whether the text, labels taken out, could be the start of a label broken over lines."""
    rest = _stripped_labels(text, keys)
    return any(key.startswith(rest) for key in keys) or is_vertical_label(rest, prefix=True)


def join_goals(cells: list[Cell], slots: int) -> list[Found | None]:
    """`slots` texts from the cells in order; a further cell continues a text that a page
    break cut (the one not ending in sentence punctuation, else the last)."""
    texts = [Found(long_text(c.text), c.start, c.end) for c in cells]
    out: list[Found | None] = texts[:slots] + [None] * max(0, slots - len(texts))
    for extra in texts[slots:]:
        open_ = [i for i, t in enumerate(out) if t and not str(t.value).endswith(_TERMINAL)]
        i = open_[0] if open_ else slots - 1
        prev = out[i]
        out[i] = Found(_join(str(prev.value), str(extra.value)), prev.start, extra.end)
    return out


def _join(a: str, b: str) -> str:
    return a + ("" if not a or not b or not (a[-1].isascii() and b[0].isascii()) else " ") + b


def interleaved_columns(cells: list[Cell]) -> list[Cell] | None:
    """Two text columns printed side by side and read line by line (`为深入贯彻落 围绕区委区政`):
    each line's first piece(s) go left, the rest right, cut where the left column's width (the
    width its two-piece lines show) is best kept; lines of one piece continue the column that
    did not end short on the line above. A guess from the layout: None when the text is not
    two columns."""
    if len(cells) != 1:
        return None
    lines = [line.split() for line in cells[0].text.split("\n") if line.strip()]
    two = [line for line in lines if len(line) == 2]
    if len(lines) < 3:
        return None
    if len(two) < 0.5 * len(lines):
        # Few lines of two pieces: side by side only if the first line (both cells start at the
        # top) is wider than the lines of one piece by a column; else one column after the other.
        singles = sorted(_width(" ".join(line)) for line in lines if len(line) == 1)
        if not two or len(lines[0]) < 2 or not singles or _width(" ".join(lines[0])) < singles[len(singles) // 2] + 3:
            return stacked_columns(cells[0])
    widths = sorted(len(line[0]) for line in two)
    width, right_width = widths[len(widths) // 2], sorted(len(line[1]) for line in two)[len(two) // 2]
    left, right, last = [], [], "left"
    for pieces in lines:
        if len(pieces) == 1:
            side = left if last == "left" else right
            side.append(pieces[0])
            continue
        cut = min(range(1, len(pieces)), key=lambda k: abs(len(" ".join(pieces[:k])) - width))
        left.append("".join(pieces[:cut]))
        right.append("".join(pieces[cut:]))
        last = "right" if len(left[-1]) < width - 1 and len(right[-1]) >= right_width - 1 else "left"
    return [Cell("\n".join(left), cells[0].start, cells[0].end), Cell("\n".join(right), cells[0].start, cells[0].end)]


_NUMBERING = re.compile(r"^(?:[(（]?[一二三四五六七八九十\d]{1,2}[)）、.．]|[(（][一二三四五六七八九十\d]{1,2}[)）])")


def _width(text: str) -> float:
    """A line's printed width in CJK characters: a Latin letter, digit or space is half of one."""
    return sum(1.0 if ord(ch) > 0xFF else 0.5 for ch in text.strip())


def stacked_columns(cell: Cell) -> list[Cell] | None:
    """Two text columns printed one after the other with no break between (`…组织保证。` then
    `1、实际安排…`): cut after the line where the left column ends — a line ending a sentence
    whose lines on each side keep one width each, a numbering that starts again at 1 after it
    scoring more. A guess from the layout: None when no line ends a sentence."""
    lines = [line.strip() for line in cell.text.split("\n") if line.strip()]
    widths = [_width(line) for line in lines]

    def spread(run: list[float]) -> float:  # lines of a wrapped column but its last share one width
        body = sorted(run[:-1])
        return sum(abs(w - body[len(body) // 2]) for w in body) if body else 0.0

    best, best_score = None, None
    for b in range(1, len(lines)):
        if not lines[b - 1].endswith(_TERMINAL):
            continue
        score = -spread(widths[:b]) - spread(widths[b:])
        left_full = sorted(widths[:b - 1])[len(widths[:b - 1]) // 2] if b > 1 else widths[0]
        score += 2 * (widths[b - 1] < left_full - 1)  # the left column's last line ends short
        first = _NUMBERING.match(lines[b])
        if first and first.group().strip("(（)）、.．") in ("1", "一") and any(_NUMBERING.match(l) for l in lines[:b]):
            score += 3
        if best_score is None or score > best_score:
            best, best_score = b, score
    if best is None:
        return None
    cut = cell.text.index(lines[best - 1]) + len(lines[best - 1])
    right_at = cell.text.index(lines[best], cut)
    return [Cell("\n".join(lines[:best]), cell.start, cell.start + cut),
            Cell("\n".join(lines[best:]), cell.start + right_at, cell.end)]
