"""Indicator tables: rows of cells into indicator records, with 一级/二级 filled over merged cells."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ... import taxonomy
from ...schema import ROW_BY_KIND, Note, Span
from ...text import HAN, is_number, long_text, parse_number
from .cells import Cell, Row


_VALUE_CELL = re.compile(r"^(?:[<>=≥≤≧≦＝]|\d[\d.,]*[(（%])")  # an indicator value, not a name
_VALUE_START = re.compile(r"^(?:[<>=≥≤≧≦＝]|\d|" + HAN + r"{0,4}\d)")


@dataclass
class _Group:
    """A merged level cell. Rows point at it, so a label completed later (on the next page)
    or first printed below its rows reaches every row it spans."""

    text: str | None = None
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.text is not None and taxonomy.is_complete(self.text)


@dataclass
class _Pending:
    row: Row
    fields: dict
    level1: _Group
    level2: _Group


@dataclass
class _Event:
    """A new label printed mid-group (or after a page break): the rows of the group above
    it, from the second on, may belong to it instead."""

    at: int  # index of the first row read after the label
    group: list[_Pending]
    level1: _Group  # the 一级 group those rows were filled down from
    floating: bool  # printed right under a row (mid-group), not at the top of a page


class IndicatorTable:
    """Reads one form's indicator rows in order; `records()` gives the indicator list."""

    def __init__(self, kind: str):
        self.kind = kind
        self.level1 = _Group()
        self.level2 = _Group()
        self.items: list[_Pending] = []
        self.notes: list[tuple[str, str]] = []
        self.events: list[_Event] = []
        self.starts: list[tuple[int, str, int, str | None]] = []  # (level, label, rows before it, its 一级)

    def add(self, row: Row) -> None:
        cells = [c for c in row.cells if not _vertical(c)]
        if not cells:
            return
        split = self._split(cells)
        before = (self.level1, self.level2)
        if split is None:
            self._labels(cells, positional=len(cells) > 1)
            self._after_labels(row, before)
            return
        prefix, fields = split
        while len(prefix) > 1 and not _label_like(prefix[0]) and self._completes(prefix[0].compact):
            prefix = prefix[1:]  # the rest of a label a line break cut (社会效益 … 指标可持续影响指标)
        label_cells, name_cells = _name_split(prefix)
        notes = list(row.notes)
        if label_cells and self.items and self._repeats(label_cells[0].compact):
            # `效益` above a row under 效益指标: not a new group but the row above's wrapped name end.
            above = self.items[-1]
            above.fields["name"] = (above.fields.get("name") or "") + label_cells.pop(0).compact
            above.row.notes.append(("stranded_fragment", "a piece like a cut label joined to the name above"))
        self._labels(label_cells, positional=len(label_cells) > 1)
        self._after_labels(row, before)
        if any(_VALUE_CELL.match(c.compact) or is_number(c.text) for c in name_cells):
            notes.append(("value_in_name", "a value-like cell inside the name: two rows run together?"))
        if name_cells:
            fields["name"] = "".join(c.compact for c in name_cells)
            if taxonomy.label_prefix(fields["name"]):
                notes.append(("label_in_name", "the name opens with a 一级/二级 label: a label and a name run together?"))
        else:
            notes.append(("name_missing", "no 三级指标 name in this row"))
        self.items.append(_Pending(Row(row.cells, notes), fields, self.level1, self.level2))

    def _split(self, cells: list[Cell]) -> tuple[list[Cell], dict] | None:
        if self.kind == "target_declaration":
            if all(_label_like(c) for c in cells):
                return None
            rest = [c for c in cells[:-1] if not _label_like(c)]
            if not rest and not _value_like(cells[-1]):
                # One cell beside the labels that does not read as a value is the name; the
                # target cell is blank.
                return cells, {"target": None}
            return cells[:-1], {"target": cells[-1].compact}
        deviation = None
        if len(cells) >= 5 and not is_number(cells[-1].text) and is_number(cells[-2].text) \
                and is_number(cells[-3].text):
            deviation, cells = cells[-1], cells[:-1]
        if len(cells) < 4 or not (is_number(cells[-1].text) and is_number(cells[-2].text)):
            return None
        return cells[:-4], {
            "target": cells[-4].compact,
            "actual": cells[-3].compact,
            "weight": parse_number(cells[-2].text),
            "score": parse_number(cells[-1].text),
            "deviation": long_text(deviation.text) if deviation else None,
        }

    def _repeats(self, text: str) -> bool:
        """A cut label that only repeats the start of the complete label of its level."""
        if taxonomy.is_complete(text):
            return False
        level = taxonomy.level_of(text, self.level1.text)
        group = {1: self.level1, 2: self.level2}.get(level)
        return group is not None and group.complete and group.text != text and group.text.startswith(text)

    def _after_labels(self, row: Row, before: tuple[_Group, _Group]) -> None:
        """A new group whose label was printed mid-group, or just after a page break, may
        span rows read before it: the layout does not tell where the group above ends."""
        if (self.level1, self.level2) == before or not any(
                code in ("floating_label", "after_break") for code, _ in row.notes):
            return
        group = [p for p in self.items if p.level1 is before[0] and p.level2 is before[1]]
        if len(group) > 1:
            floating = any(code == "floating_label" for code, _ in row.notes)
            self.events.append(_Event(len(self.items), group, before[0], floating))

    def _labels(self, cells: list[Cell], positional: bool) -> None:
        for i, cell in enumerate(cells):
            text = cell.compact
            place = (1 if i == 0 else 2) if positional else None
            if self._completes(text, place):
                continue
            level = place or taxonomy.level_of(text, self.level1.text)
            if level is None:
                self.notes.append(("stray_text", f"text '{text}' in the indicator table was not read"))
            else:
                self._start(level, text)

    def _completes(self, text: str, place: int | None = None) -> bool:
        """Whether `text` finishes a label a break cut short (and starts any label after it).
        `place` is the level the cell's column shows, where the row shows it."""
        for level, group in ((2, self.level2), (1, self.level1)):
            if place not in (None, level) or group.text is None or group.complete:
                continue
            joined = taxonomy.joined(group.text, text)
            if joined:
                group.text = joined[0]
                group.notes.append(("rejoined", f"label '{joined[0]}' rejoined across a break"))
                if joined[1]:
                    self._start(taxonomy.level_of(joined[1], self.level1.text) or level, joined[1])
                return True
        return False

    def _start(self, level: int, text: str) -> None:
        self.starts.append((level, text, len(self.items), self.level1.text if level == 2 else text))
        if level == 1:
            filled = self.level1.text is None
            self.level1 = self._reuse_or_new(self.level1, text, "level1")
            if not (filled and self.level1.text == text and self.level2.text is None):
                self.level2 = _Group()
            return
        self.level2 = self._reuse_or_new(self.level2, text, "level2")
        parents = taxonomy.parent_of(text)
        if parents and self.level1.complete and self.level1.text not in parents:
            self.level1 = _Group(parents[0], [("implied", f"一级 {parents[0]} implied by 二级 {text}")])

    def _reuse_or_new(self, group: _Group, text: str, name: str) -> _Group:
        # Rows read before any label of their level belong to the label printed below
        # them (a merged cell's text sits at its middle, after its first rows).
        above = [p for p in self.items if getattr(p, name) is group] if group.text is None else []
        if above:
            group.text = text
            for item in above:
                item.row.notes.append(("filled_up", f"{name} '{text}' printed below this row"))
            return group
        return _Group(text)

    def _place(self) -> None:
        """Rows above a label printed mid-group, placed by the weights or by the label's position.
        Either is a guess (the shares are a rule "in principle"): the rows keep `level_ambiguous`,
        whose message names both labels the row may have.

        A label printed just after a page break sits on the page that holds the middle of its
        merged cell (or its top), so its group has no more rows before the break than after it:
        only that many rows above the break may be its. The layout tells no more; in a
        declaration no weights decide it. The template does: each 二级 holds its own kind of
        indicator (counts, standards, time, money, effects), so where the rows' words and values
        clearly end one kind and start the other, the rows are placed there; placed or not, they
        keep `level_ambiguous` (a placement by meaning is a guess too), so the form is reviewed."""
        for event in self.events:
            candidates = event.group[1:]
            if event.at >= len(self.items):
                self._ambiguous(candidates, None)
                continue
            after = self.items[event.at]
            below = sum(p.level2 is after.level2 for p in self.items[event.at:])
            k = placed_by_weights(self.items, event, after) if self.kind == "self_evaluation" else None
            how = "the 一级 weights then match the standard shares (产出 50 / 效益 30 / 满意度 10)"
            if k is None and not event.floating and after.level2.text is not None:
                candidates = candidates[max(0, len(candidates) - below):]
            if k is None and event.floating and not top_aligned(self.starts):
                # A merged cell prints its text at its middle: as many rows above it as below.
                k, how = min(below, len(candidates)), "the label sits at the middle of its rows"
            if k is None and (k := self._placed_by_kind(event, candidates, after)) is not None:
                how = ("by kind: these rows' words and values are of that label's kind (count, standard, time, "
                       "money, effect), the rows above them of the label above")
            self._ambiguous(candidates, after)
            if not k:
                continue
            for item in candidates[len(candidates) - k:]:
                item.level1, item.level2 = after.level1, after.level2
                item.row.notes.append(("level_placed", f"moved under the label printed below it: {how}"))

    def _placed_by_kind(self, event: _Event, candidates: list[_Pending], after: _Pending) -> int | None:
        """How many of the candidate rows belong to the label printed below them, by the kind of
        indicator each 二级 holds (taxonomy.py); None when the rows' words do not say clearly."""
        above, below = event.group[0].level2.text, after.level2.text
        if not candidates or above is None or below is None or above == below:
            return None
        rows = [_kind_row(p) for p in event.group]
        under = [_kind_row(p) for p in self.items[event.at:] if p.level2 is after.level2]
        split = taxonomy.boundary(rows, above, below, len(event.group) - len(candidates), under)
        return None if split is None else len(event.group) - split

    def _ambiguous(self, items: list[_Pending], after: _Pending | None) -> None:
        """Flag rows whose group the layout leaves open, naming the label they were read under
        and the one printed below them (mid-group or after a page break)."""
        for item in items:
            read = _labels_text(item.level1, item.level2)
            other = _labels_text(after.level1, after.level2) if after else "the label printed below"
            item.row.notes.append(("level_ambiguous", f"labels may be '{read}' (the label above this row) or "
                                   f"'{other}' (printed below it, mid-group or after a page break); "
                                   "the layout does not tell where the group above ends"))

    def records(self) -> tuple[list, list[Note]]:
        self._place()
        model = ROW_BY_KIND[self.kind]
        out, notes = [], []
        for i, item in enumerate(self.items):
            record = model(level1=item.level1.text, level2=item.level2.text,
                           span=Span(start=item.row.start, end=item.row.end), **item.fields)
            out.append(record)
            for name, group in (("level1", item.level1), ("level2", item.level2)):
                for code, message in group.notes:
                    notes.append(Note(field=f"indicators[{i}].{name}", code=code, message=message))
                if group.text is None:
                    notes.append(Note(field=f"indicators[{i}].{name}", code="not_found",
                                      message=f"no {name} label found for this row"))
                elif not group.complete:
                    notes.append(Note(field=f"indicators[{i}].{name}", code="partial_label",
                                      message=f"label '{group.text}' looks cut short"))
            for code, message in item.row.notes:
                notes.append(Note(field=f"indicators[{i}]", code=code, message=message))
        notes += [Note(field="indicators", code=c, message=m) for c, m in self.notes]
        return out, notes


def _kind_row(item: _Pending) -> tuple[str | None, tuple[str | None, ...]]:
    return item.fields.get("name"), (item.fields.get("target"), item.fields.get("actual"))


def _labels_text(level1: _Group, level2: _Group) -> str:
    return " / ".join(g.text or "?" for g in (level1, level2))


def _value_like(cell: Cell) -> bool:
    """A target cell: an operator or a number, or a short qualitative word such as 及时."""
    text = cell.compact
    return bool(_VALUE_START.match(text)) or len(text) <= 4


def _vertical(cell: Cell) -> bool:
    """A piece of a vertical label such as 绩效指标, printed in a table's first column."""
    text = cell.compact
    return taxonomy.is_vertical_label(text) or (len(text) == 2 and taxonomy.is_vertical_label(text, prefix=True))


def _label_like(cell: Cell) -> bool:
    text = cell.compact
    return taxonomy.level_of(text) is not None or taxonomy.is_complete(text) and len(text) <= 12


def _name_split(prefix: list[Cell]) -> tuple[list[Cell], list[Cell]]:
    """The level cells and the name cells of a row's leading cells.

    The last leading cell is the name unless it is a whole label; label-like cells before
    it are level cells; anything else joins the name."""
    if not prefix:
        return [], []
    *head, last = prefix
    if taxonomy.is_full_label(last.text):
        return prefix, []
    labels = [c for c in head if _label_like(c)]
    names = [c for c in head if not _label_like(c)] + [last]
    return labels, names



def top_aligned(starts: list[tuple[int, str, int, str | None]]) -> bool:
    """Whether the table prints its labels at the top of their groups, not at their middle:
    a 一级 label at the middle of its rows (p rows after the previous 一级 label at s) spans
    at most to row 2p - s + 1, yet a 二级 label of its own starts after that."""
    previous = 0
    for i, (level, text, at, _) in enumerate(starts):
        if level != 1:
            continue
        reach = 2 * at - previous + 1
        for level2, _, at2, parent in starts[i + 1:]:
            if level2 == 1:
                break
            if parent == text and at2 > reach + 1:
                return True
        previous = at
    return False


def placed_by_weights(items: list[_Pending], event: _Event, after: _Pending) -> int | None:
    """How many rows above a mid-group 一级 label belong to it: the one count that makes both
    一级 groups' weights their standard shares; None when no count or several do."""
    old, new = event.level1, after.level1
    if old is new or taxonomy.DEFAULT_SHARES.get(old.text) is None:
        return None
    weights = [p.fields.get("weight") for p in items]
    if any(w is None for w in weights):
        return None
    old_sum = sum(w for p, w in zip(items, weights) if p.level1 is old)
    new_sum = sum(w for p, w in zip(items, weights) if p.level1 is new)
    fits, moved = [], 0.0
    candidates = event.group[1:]
    for k in range(len(candidates) + 1):
        if k:
            moved += candidates[-k].fields["weight"]
        share_new = taxonomy.DEFAULT_SHARES.get(new.text)
        if abs(old_sum - moved - taxonomy.DEFAULT_SHARES[old.text]) < 1e-6 and (
                share_new is None or abs(new_sum + moved - share_new) < 1e-6):
            fits.append(k)
    return fits[0] if len(fits) == 1 else None
