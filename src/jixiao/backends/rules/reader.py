"""What every rules reader shares: the header labels of both kinds and their fields, the
layout a chunk's text is in, and `_Reader`, which collects values, spans and notes as it goes.

Below the readers (`__init__`'s line readers, `grid.py`, `sequence.py`) and above the layouts
(`layouts.py`, `columns.py`), so that none of them imports another in a circle."""

from __future__ import annotations

from functools import cached_property

from ...dates import plan_year
from ...schema import FUND_LABELS, Chunk, Note, Span
from ...text import parse_number
from .cells import Cell
from .columns import ColumnLayout
from .fields import Anchors, Found, amount_unit, goal_texts, interleaved_columns, join_goals, labelled_values, year
from .indicators import IndicatorTable
from .layouts import LAYOUTS, BrokenLineLayout, Layout, MarkdownLayout

_FUND_COLUMNS = (
    ("年初预算数", "initial_budget"), ("全年预算数", "annual_budget"), ("全年执行数", "executed"),
    ("分值", "weight"), ("分数", "weight"), ("执行率", "execution_rate"), ("得分", "score"),
)
# The header labels of both kinds and their fields, as the grid and cell-sequence readers pair them.
_HEADER = {"项目名称": "project_name", "主管部门": "supervising_dept", "实施单位": "implementing_unit",
           "项目性质": "project_nature", "项目类别": "project_category", "计划开始日期": "planned_start",
           "计划完成日期": "planned_end"}
_DEFAULT_COLUMNS = ["initial_budget", "annual_budget", "executed", "weight", "execution_rate", "score"]
_SE_FUND_ROWS = {FUND_LABELS[k]: k for k in ("total", "current_year", "carryover", "other")}
# 其他资金 is printed in both columns of a declaration: the reader places it by position.
_TD_FUND_ROWS = {FUND_LABELS[k]: k for k in ("project_total", "project_fiscal", "annual_total", "annual_current_year",
                                             "annual_carryover")}
_GOAL_LABELS = ("年度总体目标", "预期目标", "实际完成情况", "项目总目标", "项目绩效目标", "绩效目标")


class _Reader:
    """Reads one chunk. Collects values, their spans and notes as it goes."""

    def __init__(self, chunk: Chunk):
        self.chunk = chunk
        self.anchors = Anchors(chunk.text, chunk.span.start)
        self.spans: dict[str, Span] = {}
        self.notes: list[Note] = []

    @cached_property
    def layout(self) -> Layout:
        # Found when first read: the grid reader, which reads cells, never asks for it.
        return detect_layout(self.chunk.text)

    def note(self, field: str, code: str, message: str) -> None:
        self.notes.append(Note(field=field, code=code, message=message))

    def value(self, path: str, found: Found | None, required: bool = True):
        if found is None:
            if required:
                self.note(path, "not_found", f"{path} not found in the form text")
            return None
        self.spans[path] = Span(start=found.start, end=found.end)
        return found.value

    def cell(self, path: str, cell: Cell | None):
        return self.value(path, Found(parse_number(cell.text), cell.start, cell.end) if cell else None)

    def header(self, labels: dict[str, str], stop: str) -> dict:
        values = labelled_values(self.anchors, [*labels, stop], 0, len(self.chunk.text))
        for label, found in values.items():
            if found is not None and found.guess and label in labels:
                self.note(labels[label], "stranded_fragment", found.guess)
        return {name: self.value(name, values.get(label)) for label, name in labels.items()}

    def indicators(self, header_end: int, end: int) -> list:
        table = IndicatorTable(self.chunk.kind)
        for row in self.layout.rows(self.chunk.text[header_end:end], self.chunk.span.start + header_end):
            table.add(row)
        records, notes = table.records()
        self.notes += notes
        for i, record in enumerate(records):
            self.spans[f"indicators[{i}]"] = record.span
        return records

    def goals(self, start: int, end: int, slots: int) -> list:
        cells = goal_texts(self.anchors, self.layout, start, end, _GOAL_LABELS)
        columns = interleaved_columns(cells) if slots == 2 else None
        if columns:
            cells = columns
            for name in ("goal_expected", "goal_actual"):
                self.note(name, "stranded_fragment", "two goal columns in one text (side by side, or one after the other): cut by the columns' widths")
        if len(cells) > slots:
            self.note("goals", "rejoined", f"{len(cells)} text pieces joined into {slots} goal texts")
        return join_goals(cells, slots)

    def common(self, unit: Found | None = None, plan: tuple[str | None, str | None] = (None, None)) -> dict:
        """The year and the amount unit read from the text; `unit`, the unit a reader found
        elsewhere, when the text does not print it after 项目资金. A declaration whose title (and
        so its 年度) is not in the text takes the year its planned dates (`plan`) fall in, noted:
        the plan is for the declared year, but it is read off other fields."""
        found = year(self.anchors)
        if found is None and (at := plan_year(*plan)) is not None and "planned_start" in self.spans:
            span = self.spans["planned_start"]
            found = Found(at, span.start, span.start + 4)
            self.note("year", "year_from_plan", f"年度未印出，按计划起止日期取 {at} / no 年度 printed: the year "
                      f"the planned dates fall in, {at}")
        unit, doubt = amount_unit(self.anchors, unit)
        if doubt:
            self.note("amount_unit", "unit_disagrees", doubt)
        return {"year": self.value("year", found), "amount_unit": self.value("amount_unit", unit)}


def detect_layout(text: str) -> Layout:
    """The first layout whose signature the text's lines show; text that keeps columns by
    spaces (the indicator header on one line) is read by column position."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not MarkdownLayout.matches(lines) and (columns := ColumnLayout.detect(text, lines)):
        return columns
    for layout in LAYOUTS:
        if layout.matches(lines):
            return layout()
    return BrokenLineLayout()
