"""Grounding where the value sits: is a value a model returned printed at its place in the form?

Printed somewhere in the form is not enough: a 二级 label answered as `生态效益指标` for a
`社会效益指标` row is printed two rows down. The rules reader reads the same chunk offline, and
cheaply; its reading says where each thing sits: a funds row's line(s), an indicator row's
line(s) (paired with the answer's rows by name), the label of each row's group (from the text
layout, or the cell grid when the chunk has tables), the header row that names the project.
A value is grounded when it is printed there as a whole token (not the head of a longer
number or name, so a dropped last character does not pass); a row's 一级/二级 is grounded when
it is the label of the row's group as the rules reader read it. A value printed only
elsewhere, a label of another group, and a row the rules reader read but the answer
left out are misplaced: suspects for the targeted re-ask, each quoted with its place's text."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from ..check import check_form, guarded
from ..errors import JixiaoError
from ..compare import LONG_TEXTS, pair_rows, values_equal
from ..route import DEFAULT_THRESHOLD
from ..schema import FUND_LABELS, Chunk, Form, Note, format_values, row_cell
from ..validate.triage import PrintedText
from ..validate.values import Values
from ..text import clipped, compact, is_han, loose, nfkc, parse_number

# A rules reading at least this sure of a field is trusted to say what and where it is (hybrid
# lets it win a disagreement the source does not settle from this confidence on).
SURE = 0.9
# Notes of a rules reading that pairs cells by order, not by place (pdftotext's one cell per line).
ORDER_ONLY = frozenset({"cell_sequence"})
_LEVELS = ("level1", "level2")
_OPERATORS = "=＝≥≤<>≧≦+-"
# A row's cells one may be answered for another: all are printed in the row's lines.
_BESIDE = {"target": ("actual",), "actual": ("target",), "weight": ("score",), "score": ("weight",),
           "initial_budget": ("annual_budget", "executed"), "annual_budget": ("initial_budget", "executed"),
           "executed": ("initial_budget", "annual_budget")}
_QUOTE = 300  # characters of a place quoted in a re-ask
_WITH_UNIT = frozenset({"execution_rate", "year"})  # figures printed with their unit: 85%, 2024年
_FIGURE = re.compile(r"(?<![\d.,])\d[\d,]*(?:\.\d+)?(?![\d.,]*\d)")


@dataclass(frozen=True)
class Misplaced:
    """A value not printed at its place: the place's text (to quote) and why."""

    place: str
    why: str


class Grounding:
    """Where each field of an answer to `chunk` should be printed, after `rules`, the rules
    reader's checked reading of the same chunk (None when it could not read it: then only
    the answer's own row names and the form's labels place its values)."""

    def __init__(self, chunk: Chunk, rules: Form | None):
        self.chunk = chunk
        # A reading that pairs cells by order alone places nothing: its rows are not where they sit.
        self.rules = rules if rules is not None and by_place(rules) else None
        self.text = chunk.text
        self._rules_values = Values(self.rules) if self.rules is not None else None
        self._whole = PrintedText(self.text)
        self._paired: dict[tuple, dict[int, int]] = {}
        self._misplaced: dict[tuple, dict[str, Misplaced]] = {}

    # --- the checks ---------------------------------------------------------------------
    def misplaced(self, form: Form) -> dict[str, Misplaced]:
        """Every field of `form` whose value is not printed at its place, and `indicators`
        when rows the rules reader read are missing from it (worked out once per answer)."""
        key = tuple(format_values(form))
        if key not in self._misplaced:
            self._misplaced[key] = self._find_misplaced(form)
        return self._misplaced[key]

    def _find_misplaced(self, form: Form) -> dict[str, Misplaced]:
        pairs = self._pairs(form)
        out: dict[str, Misplaced] = {}
        for path, value in format_values(form):
            if path == "kind":  # the kind is read off the title
                continue
            if value is None or value == "":
                if self._read_there(path, pairs) is not None:
                    out[path] = Misplaced(self.place(form, path, pairs) or "",
                                          "该处印有值，回答为空 / a value is printed here; the answer left it blank")
                continue
            found = self.at_place(form, path, value, pairs)
            if found is False:
                out[path] = Misplaced(self.place(form, path, pairs) or "", self._why(path, pairs))
            elif (beside := self._read_beside(path, value, pairs)) is not None:
                # Printed in the row's lines, but the rules reader read it in the cell beside:
                # a question for the model (or a reviewer), not a verdict on which reading is
                # right (the rules reader may have the columns wrong), so at_place stays silent.
                out[path] = Misplaced(self.place(form, path, pairs) or "",
                                      f"规则读取此处为「{beside}」，该值在旁边的格中 / the rules reader read {beside!r} "
                                      "here and this value in the cell beside it")
        missing = self._missing_rows(form, pairs)
        if missing:
            out["indicators"] = Misplaced("\n".join(missing), f"{len(missing)} row(s) printed here are missing "
                                                               "from the answer")
        return out

    def at_place(self, form: Form, path: str, value: object, pairs: dict[int, int] | None = None) -> bool | None:
        """True if `value` (the answer's, at `path`) is printed at its place, False if not,
        None if its place is not known."""
        pairs = self._pairs(form) if pairs is None else pairs
        row = row_cell(path)
        if row and row[1] in _LEVELS:
            expected = self._group_label(*row, pairs)
            if expected is None or compact(str(value)) == compact(expected):
                return None if expected is None else True
            # Another group's label: misplaced, unless the layout leaves the group open (the
            # rules reader unsure of it) and the label is printed in the form; then it is a
            # doubt for a reviewer (`label_doubts`).
            if self._sure_of(*row, pairs):
                return False
            return None if compact(str(value)) in self._whole.plain else False
        if self._read_alike(path, value, pairs):
            return True  # the rules reader read the same value at this place (a cell split by other text)
        # Where the rules reader is unsure of a field, its place is a guess (a layout that prints
        # each cell on its own line, pairing them by order): the value must be printed in the form.
        place = self.place(form, path, pairs) if self._sure_at(path, pairs) else self.text
        if place is None:
            return None
        field = path.rsplit(".", 1)[-1]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return printed_figure(float(value), place, with_unit=field in _WITH_UNIT)
        if field in LONG_TEXTS:  # a paragraph: its words, not its ends (a reader may trim a cell's edge)
            return compact(str(value)) in PrintedText(place).plain or printed_wrapped(str(value), place)
        return printed_whole(str(value), place)

    def unplaced(self, form: Form) -> str | None:
        """Why the 一级/二级 labels of `form` cannot be checked at their place (no reading of the
        rows' groups), or None. A label swapped for another printed in the form is then found
        in the form: only a reviewer can tell."""
        if self.rules is not None or not form.indicators:
            return None
        return ("版式未能确定各行所属的组，无法核对一级/二级标签 / the layout gives no reading of the rows' groups "
                "to check the LLM's 一级/二级 labels against")

    def label_doubts(self, form: Form) -> dict[str, str]:
        """The 一级/二级 labels of `form` that differ from the rules reader's where the layout
        leaves a row's group open (the rules reader unsure): a re-ask cannot settle what the
        print does not say, so they are for a reviewer. Path → why."""
        pairs = self._pairs(form)
        out = {}
        for j, row in enumerate(form.indicators):
            if self.rules is not None and j not in pairs and (row.level1 or row.level2):
                # A row the rules reader did not read: nothing says which group it is in.
                out[f"indicators[{j}]"] = ("规则读取中没有这一行，无法核对其一级/二级标签 / the rules reader has no such row: "
                                           "its 一级/二级 labels cannot be checked")
                continue
            for level in _LEVELS:
                value, expected = getattr(row, level), self._group_label(j, level, pairs)
                if value and expected and compact(value) != compact(expected) and not self._sure_of(j, level, pairs) \
                        and compact(value) in self._whole.plain:
                    out[f"indicators[{j}].{level}"] = (
                        f"版式未定该行所属的组：规则读取为「{expected}」，LLM 读取为「{value}」 / the layout leaves this "
                        f"row's group open: the rules reader read {expected!r}, the LLM {value!r}")
        return out

    def place(self, form: Form, path: str, pairs: dict[int, int] | None = None) -> str | None:
        """The text where the answer's `path` should be printed (whole lines), or None."""
        pairs = self._pairs(form) if pairs is None else pairs
        row = row_cell(path)
        if row:
            return self._row_place(form, row[0], pairs)
        if path.startswith("funds."):
            key = path.split(".")[1]
            spans = [s for p, s in self._spans().items() if p.startswith(f"funds.{key}.") or p == f"funds.{key}"]
            if spans:
                return self._lines_of(spans)
            return self._lines_with(FUND_LABELS.get(key))
        span = self._spans().get(path)
        if span is not None:
            return self._lines_of([span])
        return self.text  # no place known: the form as a whole (a value printed nowhere is still caught)

    # --- places -------------------------------------------------------------------------
    def _pairs(self, form: Form) -> dict[int, int]:
        """The answer's row index → the rules reading's row index (worked out once per answer:
        pairing compares every row with every row)."""
        if self.rules is None or self.rules.kind != form.kind:
            return {}
        rows = tuple((r.level1, r.level2, r.name) for r in form.indicators)
        if rows not in self._paired:
            self._paired[rows] = {j: i for i, j in paired_rows(self.rules.indicators, form.indicators).items()}
        return self._paired[rows]

    def _read_alike(self, path: str, value: object, pairs: dict[int, int]) -> bool:
        """Whether the rules reading holds the same value for the same field, read with a span."""
        mine = self._read_there(path, pairs)
        return mine is not None and values_equal(path.rsplit(".", 1)[-1], mine, value)

    def _read_beside(self, path: str, value: object, pairs: dict[int, int]) -> object:
        """What the rules reader, reading this place with a span, read here when it read
        `value` in a cell beside it (`_beside`); else None. Both are printed in the row's
        lines, so only the cell tells them apart."""
        mine = self._read_there(path, pairs)
        field = path.rsplit(".", 1)[-1]
        if mine is None:
            return None
        beside = [self._rules_values.get(p) for p in self._beside(self._rules_path(path, pairs))]
        swapped = any(b is not None and values_equal(field, b, value) and not values_equal(field, b, mine)
                      for b in beside)
        return mine if swapped else None

    def _beside(self, mine: str) -> list[str]:
        """The rules reading's paths a value at `mine` may be answered for: the row's other
        figure of its pair (a weight and its score, a target and its actual, a budget and what
        was spent) and the same field of the row above or below (an indicator's, a funds row's)."""
        field = mine.rsplit(".", 1)[-1]
        if field not in _BESIDE:
            return []
        row = row_cell(mine)
        if row:
            i, rows = row[0], self.rules.indicators
            near = [f"indicators[{k}].{field}" for k in (i - 1, i + 1) if 0 <= k < len(rows)]
            return [f"indicators[{i}].{other}" for other in _BESIDE[field]] + near
        parts = mine.split(".")
        if parts[0] != "funds" or len(parts) != 3:
            return []
        keys = list(type(self.rules.funds).model_fields)
        k = keys.index(parts[1])
        near = [f"funds.{keys[j]}.{field}" for j in (k - 1, k + 1) if 0 <= j < len(keys)]
        return [f"funds.{parts[1]}.{other}" for other in _BESIDE[field]] + near

    def _read_there(self, path: str, pairs: dict[int, int]) -> object:
        """The rules reading's value for the answer's `path`, if it read one with a span (at a
        place it can show; sure of it or not: a second reading), else None."""
        mine = self._rules_path(path, pairs)
        if mine is None:
            return None
        row = row_cell(mine)
        if row:
            i = row[0]
            if not (f"indicators[{i}]" in self._spans() or self.rules.indicators[i].span):
                return None
        elif mine not in self._spans():
            return None
        return self._rules_values.get(mine)

    def _rules_path(self, path: str, pairs: dict[int, int]) -> str | None:
        """The rules reading's path for the answer's `path` (its row paired by name)."""
        return None if self.rules is None else paired_path(path, pairs)

    def _sure_at(self, path: str, pairs: dict[int, int]) -> bool:
        """Whether the rules reader is sure of the field the answer's `path` pairs with."""
        mine = self._rules_path(path, pairs)
        return mine is not None and (self.rules.field_confidence or {}).get(mine, 0.0) >= SURE

    def _spans(self) -> dict:
        return self.rules.field_spans if self.rules is not None and self.rules.field_spans else {}

    def _row_place(self, form: Form, j: int, pairs: dict[int, int]) -> str | None:
        i = pairs.get(j)
        if i is not None:
            span = self._spans().get(f"indicators[{i}]") or self.rules.indicators[i].span
            if span is not None:
                return self._lines_of([span])
            return self._lines_with(self.rules.indicators[i].name)
        name = form.indicators[j].name if j < len(form.indicators) else None
        return self._lines_with(name)

    def _group_label(self, j: int, level: str, pairs: dict[int, int]) -> str | None:
        i = pairs.get(j)
        return getattr(self.rules.indicators[i], level) if i is not None else None

    def _sure_of(self, j: int, level: str, pairs: dict[int, int]) -> bool:
        return self._sure_at(f"indicators[{j}].{level}", pairs)

    def _why(self, path: str, pairs: dict[int, int]) -> str:
        row = row_cell(path)
        if row and row[1] in _LEVELS:
            label = self._group_label(*row, pairs)
            return f"该行所在组的标签是「{label}」 / the label of this row's group reads {label!r}"
        return "该处没有印这个值 / not printed at its place in the form"

    def _missing_rows(self, form: Form, pairs: dict[int, int]) -> list[str]:
        """The lines of the rows the rules reader read (by name) that no answer row pairs with."""
        if self.rules is None or self.rules.kind != form.kind:
            return []
        paired = set(pairs.values())
        return [self._row_place(self.rules, i, {i: i}) or row.name for i, row in enumerate(self.rules.indicators)
                if i not in paired and row.name]

    def _lines_of(self, spans) -> str:
        """The whole lines of the chunk that the (document-offset) spans touch."""
        base = self.chunk.span.start
        start = min(s.start for s in spans) - base
        end = max(s.end for s in spans) - base
        start = max(0, min(start, len(self.text)))
        end = max(start, min(end, len(self.text)))
        first = self.text.rfind("\n", 0, start) + 1
        last = self.text.find("\n", end)
        return self.text[first:len(self.text) if last < 0 else last]

    def _lines_with(self, needle: str | None) -> str | None:
        """The lines where `needle` is printed (its characters may be split by spaces or line
        breaks), each with the line before and after (a row's figures may sit beside either)."""
        key = compact(needle or "")
        if not key:
            return None
        found = [m.span() for m in loose(key).finditer(self.text)]
        if not found:
            return None
        pieces = []
        for start, end in found:
            first = self._line_index(start)
            last = self._line_index(max(start, end - 1))
            lo = self._lines[max(0, first - 1)]
            hi = self._lines[last + 2] - 1 if last + 2 < len(self._lines) else len(self.text)
            pieces.append(self.text[lo:hi])
        return "\n".join(pieces)

    @cached_property
    def _lines(self) -> list[int]:
        """Where each line of the chunk starts (asked for only when a place is looked up by name)."""
        return [0] + [i + 1 for i, ch in enumerate(self.text) if ch == "\n"]

    def _line_index(self, offset: int) -> int:
        return bisect_right(self._lines, offset) - 1


def paired_rows(rules: list, answer: list) -> dict[int, int]:
    """Rules row index → answer row index, as `compare.pair_rows` pairs them; rows whose name
    is printed once in each are paired at once, the optimal assignment (a string similarity of
    every row with every row) left to the rest: most rows of a faithful answer."""
    names = [compact(r.name or "") for r in rules], [compact(r.name or "") for r in answer]
    once = [{n for n in side if n and side.count(n) == 1} for side in names]
    where = {n: j for j, n in enumerate(names[1]) if n in once[1]}
    pairs = {i: where[n] for i, n in enumerate(names[0]) if n in once[0] and n in where}
    rest_rules = [i for i in range(len(rules)) if i not in pairs]
    taken = set(pairs.values())
    rest_answer = [j for j in range(len(answer)) if j not in taken]
    if rest_rules and rest_answer:
        more = pair_rows([rules[i] for i in rest_rules], [answer[j] for j in rest_answer])
        pairs |= {rest_rules[a]: rest_answer[b] for a, b in more.items()}
    return pairs


def paired_path(path: str, pairs: dict[int, int]) -> str | None:
    """`path` in the other reading: an indicator cell's in the row `pairs` pairs its row with
    (None when its row is paired with none); any other path as it is."""
    cell = row_cell(path)
    if cell is None:
        return path
    i = pairs.get(cell[0])
    return None if i is None else f"indicators[{i}].{cell[1]}"


def by_place(rules: Form) -> bool:
    """Whether a rules reading placed its values by where they sit (not by order alone)."""
    return not any(n.code in ORDER_ONLY for n in rules.notes)


def rules_reading(chunk: Chunk, notes: list[Note]) -> Form | None:
    """The rules reader's reading of a chunk, checked (its field confidences set), or None
    when it cannot read it: a place to look, never a reason to fail the form. A reader that
    crashes is not a reader that cannot read: `notes` (the form's) then gets the named
    `check_failed` note that sends the form to review, since nothing was checked against it."""
    from .rules import RulesBackend

    try:
        return guarded(notes, "rules", lambda: checked(RulesBackend().extract(chunk), chunk), None)
    except JixiaoError:  # a named outcome (no table of the template it knows): nothing to look at
        return None


def checked(form: Form, chunk: Chunk, threshold: float | None = None) -> Form:
    """`form`, read from `chunk`, validated, scored and routed (spans index the document:
    the chunk is padded to its place in it)."""
    source = " " * chunk.span.start + chunk.text
    return check_form(form, source, DEFAULT_THRESHOLD if threshold is None else threshold, chunk.boxes)


def quote(place: str) -> str:
    """A place's text as quoted in a re-ask: lines joined, runs of space folded, cut short."""
    text = " / ".join(" ".join(line.split()) for line in place.split("\n") if line.strip())
    return clipped(text, _QUOTE)


def printed_whole(value: str, place: str) -> bool:
    """Whether `value` is printed in `place` as a whole token: its characters in order (spaces
    and line breaks between them allowed, as layouts split cells), and not run on into the
    printed characters before or after it (a digit, a decimal, a unit, more of the same
    name): `=28` is not printed whole in `=28人`, nor `才覆盖率` in `人才覆盖率`."""
    key = compact(nfkc(value))
    if not key:
        return True
    text = nfkc(place).replace("|", " ")
    return any(_bounded(text, m.start(), m.end()) for m in _pattern(key).finditer(text)) or printed_wrapped(value, place)


def printed_wrapped(value: str, place: str) -> bool:
    """Whether `value` is printed as a cell wrapped over lines beside other cells: a run of
    whole words on each of consecutive lines, the other cells' words between (`上海市闵行区江川`
    / `路街道办事处(汇` / `总)` in a column, the next cell's text beside each piece)."""
    key = compact(nfkc(value))
    lines = [line.split() for line in nfkc(place).replace("|", " ").split("\n")]
    lines = [words for words in lines if words]
    if not key:
        return False
    # A search over (line, how much of the key is printed before it), kept on a list rather
    # than the call stack: a cell wrapped over thousands of lines is a step a line.
    todo = [(k, 0) for k in reversed(range(len(lines)))]
    seen = set(todo)
    while todo:
        k, at = todo.pop()
        for end in _pieces_ending(lines[k], key, at):
            if end == len(key):
                return True
            if k + 1 < len(lines) and (k + 1, end) not in seen:
                seen.add((k + 1, end))
                todo.append((k + 1, end))
    return False


def _pieces_ending(words: list[str], key: str, at: int) -> Iterator[int]:
    """Where in `key` each run of whole consecutive `words` printed at `at` ends."""
    for i in range(len(words)):
        piece = ""
        for word in words[i:]:
            if piece and _figure_char(piece[-1]) and _figure_char(word[0]):
                break  # two figures side by side are two cells, not one number
            piece += word
            if not key.startswith(piece, at):
                break
            yield at + len(piece)


def printed_figure(value: float, place: str, with_unit: bool = False) -> bool:
    """Whether `value` is printed in `place` as a figure of its own: a whole number token
    (not part of a longer one), and, unless it is printed `with_unit` (a rate's %, a year's
    年), not a target or an actual (a figure after an operator, or with % or a unit after it)."""
    text = nfkc(place)
    for m in _FIGURE.finditer(text):
        number = parse_number(m.group(0))
        if number is None or abs(number - value) > 1e-9 * max(1.0, abs(value)):
            continue
        after = text[m.end():m.end() + 1]
        before = text[:m.start()].rstrip()[-1:]
        if with_unit or not (after == "%" or after.isalpha() or (before and before in _OPERATORS)):
            return True
    return False


def _pattern(key: str) -> re.Pattern[str]:
    """Like `loose`, but a number's digits stay together: `00` is not `0 0`, two cells."""
    parts = [re.escape(key[0])] if key else []
    for a, b in zip(key, key[1:]):
        parts.append(("" if _figure_char(a) and _figure_char(b) else r"\s*") + re.escape(b))
    return re.compile("".join(parts))


def _figure_char(ch: str) -> bool:
    return ch.isdigit() or ch in ".,"


def _bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before in "(（" and after in ")）":
        return True  # a bracketed token, as a unit is printed: （万元）
    return not _joined(before, text[start]) and not _joined(text[end - 1], after)


def _joined(a: str, b: str) -> bool:
    """Whether two characters printed side by side (no space) belong to one token."""
    if b.isdigit():
        return a.isdigit() or a in ".," or a in _OPERATORS
    if a.isdigit():
        return b in ".,%" or b.isalpha()  # more digits, a unit (人, 个, 万元)
    if b in ")）" or a in "(（":
        return True
    return is_han(a) and is_han(b)
