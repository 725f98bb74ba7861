"""The grid reader: a form read from its table cells (Word, Excel, HTML, JSON cells).

Labels are the templates' vocabulary. A label's value is the next cell to its right that is not
a label, or the cell below it for a column header (预期目标, 年度总体目标 …). Fund columns and
indicator columns are mapped by their header's name, not by position. A vertically merged
一级/二级 cell covers exactly the rows its merge covers (`GridCell.merged_into`); a continuation
table whose label cells are empty carries the labels of the group it continues, with a note.
Values are recorded as printed (FORMAT.md); each field's span is its cell's span. Where the
reader has to guess (a label it does not know, a number cell that is not a number, a blank label
cell filled down), it notes so and the form's confidence falls."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...dates import iso_date
from ...schema import (
    FORM_FIELDS, FUND_LABELS, Chunk, DeclarationFunds, DeclarationIndicator, FundRow, GridCell, SelfEvaluation,
    SelfEvaluationFunds, SelfEvaluationIndicator, Span, TargetDeclaration,
)
from . import _DEFAULT_COLUMNS, _FUND_COLUMNS, _SE_FUND_ROWS, _TD_FUND_ROWS, _Reader
from . import taxonomy
from .fields import Found, labelled_values
from .text import NULL_MARKS, compact, long_text, parse_number

_HEADER = {"项目名称": "project_name", "主管部门": "supervising_dept", "实施单位": "implementing_unit",
           "项目性质": "project_nature", "项目类别": "project_category", "计划开始日期": "planned_start",
           "计划完成日期": "planned_end"}
_GOALS = {"self_evaluation": {"预期目标": "goal_expected", "实际完成情况": "goal_actual"},
          "target_declaration": {"项目总目标": "goal_overall", "年度总体目标": "goal_annual"}}
_INDICATOR_COLUMNS = {"一级指标": "level1", "二级指标": "level2", "三级指标": "name", "指标名称": "name",
                      "指标值": "target", "年度指标值": "target", "项目指标值": "target", "年度目标值": "target",
                      "实际完成值": "actual", "实际值": "actual", "分值": "weight", "权重": "weight",
                      "得分": "score", "偏差原因分析及改进措施": "deviation", "偏差原因分析": "deviation",
                      "偏差原因": "deviation", "未完成原因分析": "deviation"}
_ROW_FIELDS = {"self_evaluation": ("level1", "level2", "name", "target", "actual", "weight", "score"),
               "target_declaration": ("level1", "level2", "name", "target")}
_GRADES = ("评分等级", "自评等级", "评价等级", "绩效等级")
# Labels the templates print that hold no FORMAT.md field: known, so not mistaken for values.
_OTHER_LABELS = {"项目负责人", "联系电话", "联系人", "项目资金", "绩效指标", "项目绩效目标", "绩效目标", "年度总体目标",
                 "项目总目标", "总分", "项目编码", "项目代码", "填报单位", "填报人", "预算执行情况"}
_FUND_HEADS = {compact(label): field for label, field in _FUND_COLUMNS}
_TD_LEFT = {"项目资金总额", "财政资金"}  # 其他资金 under these is the whole project's
_LABELS = (set(_HEADER) | set(_GOALS["self_evaluation"]) | set(_GOALS["target_declaration"]) | set(_INDICATOR_COLUMNS)
           | set(_GRADES) | _OTHER_LABELS | set(_FUND_HEADS) | set(FUND_LABELS.values()))
_TITLE = re.compile(r"^(?:财政项目支出绩效|[（(]?\d{4}年度?[)）]?$)")
_PARENS = re.compile(r"[（(][^（()）]*[)）]")


def key(text: str) -> str:
    """A cell's text as a label: whitespace, bracketed units, `其中：`, colons and `*` removed."""
    k = _PARENS.sub("", compact(text)).strip("：:*")
    return k[3:] if k.startswith(("其中：", "其中:")) else k


def is_label(text: str) -> bool:
    return key(text) in _LABELS or taxonomy.is_vertical_label(text)


def has_form_cells(chunk: Chunk) -> bool:
    """Whether a chunk's tables hold a form (its header or its indicator table), not some other table."""
    return any(key(cell.text) in ("项目名称", "一级指标", "三级指标", "主管部门")
               for table in chunk.tables for row in table.rows for cell in row)


@dataclass
class _Slot:
    """A cell as one row shows it: its first column there, its origin cell, and whether this row
    is the origin's own (False: a merge from a row above covers it)."""

    col: int
    cell: GridCell
    top: bool
    ident: tuple[int, int, int]

    @property
    def text(self) -> str:
        return self.cell.text

    @property
    def key(self) -> str:
        return key(self.cell.text)


@dataclass
class _Row:
    table: int
    index: int  # within its table
    slots: list[_Slot]

    def at(self, col: int) -> _Slot | None:
        """The slot covering column `col`."""
        return next((s for s in reversed(self.slots) if s.col <= col), None) if self.slots else None

    @property
    def own(self) -> list[_Slot]:
        """The cells this row prints (merges from above left out)."""
        return [s for s in self.slots if s.top]


def _rows(chunk: Chunk) -> list[_Row]:
    out = []
    for t, table in enumerate(chunk.tables):
        for r, row in enumerate(table.rows):
            slots: list[_Slot] = []
            for c in range(len(row)):
                origin_at = row[c].merged_into or (r, c)
                ident = (t, *origin_at)
                if slots and slots[-1].ident == ident:
                    continue
                slots.append(_Slot(c, table.origin(r, c), origin_at[0] == r, ident))
            out.append(_Row(t, r, slots))
    return out


class _GridReader:
    def __init__(self, chunk: Chunk):
        self.r = _Reader(chunk)
        self.kind = chunk.kind
        self.rows = _rows(chunk)
        self.consumed: set[tuple[int, int, int]] = set()  # cells read as a column header's value

    # --- recording ---

    def cell_value(self, path: str, slot: _Slot | None, value, required: bool = True):
        span = slot.cell.span if slot else None
        if slot is None:
            return self.r.value(path, None, required)
        if value is None or span is None:
            if required and not compact(slot.text):
                self.r.note(path, "blank_cell", f"{path}: its cell is blank")
            return None
        return self.r.value(path, Found(value, span.start, span.end))

    def number(self, path: str, slot: _Slot | None):
        if slot is None:
            return self.r.value(path, None)
        text = compact(slot.text)
        value = parse_number(text)
        if value is None and text and text not in NULL_MARKS:
            self.r.note(path, "not_a_number", f"单元格 '{text}' 不是数字 / the cell '{text}' is not a number; left null")
        return self.cell_value(path, slot, value, required=False)

    # --- the form, row by row ---

    def read(self) -> SelfEvaluation | TargetDeclaration:
        fields = set(FORM_FIELDS[self.kind])
        scalars: dict[str, object] = {}
        funds: dict[str, object] = {}
        fund_columns: dict[int, str] = {}
        columns: dict[int, str] | None = None
        indicators: list = []
        previous: dict[str, _Slot] = {}
        for i, row in enumerate(self.rows):
            own = [s for s in row.own if compact(s.text) and not taxonomy.is_vertical_label(s.text)
                   and s.ident not in self.consumed]
            if not own:
                continue
            keys = {s.key for s in own}
            if {"一级指标", "三级指标"} & keys:
                columns = self.columns(row)  # a continuation table may repeat the header
            elif columns is not None and not (own[0].key in _LABELS and taxonomy.level_of(own[0].text) is None):
                self.indicator(row, columns, indicators, previous)
            elif own[0].key == "总分":
                self.totals(row, own[0], columns or {}, scalars)
            elif len(heads := {s.col: _FUND_HEADS[s.key] for s in own if s.key in _FUND_HEADS}) >= 3:
                fund_columns = heads
            else:
                self.labels(row, i, fields, scalars, funds, fund_columns)
        return self.form(scalars, funds, indicators, columns)

    def columns(self, row: _Row) -> dict[int, str]:
        out = {s.col: _INDICATOR_COLUMNS[s.key] for s in row.own if s.key in _INDICATOR_COLUMNS}
        unknown = [compact(s.text) for s in row.own if compact(s.text) and s.key not in _INDICATOR_COLUMNS
                   and not taxonomy.is_vertical_label(s.text)]
        if unknown:
            self.r.note("indicators", "unknown_label", f"指标表头有未知列 {unknown} / unknown indicator columns "
                        f"{unknown}: not read")
        wanted = _ROW_FIELDS[self.kind] + (("deviation",) if self.kind == "self_evaluation" else ())
        missing = [f for f in wanted if f not in out.values()]
        if missing:
            self.r.note("indicators", "default_columns", f"指标表缺少列 {missing} / indicator columns {missing} "
                        "not found: those fields left null")
        return out

    def labels(self, row: _Row, i: int, fields: set[str], scalars: dict, funds: dict, fund_columns: dict) -> None:
        """A row of label–value pairs: header fields, fund rows, goal headers, the grade."""
        read, orphans = [], []
        slots = [s for s in row.slots if s.top and s.ident not in self.consumed]
        n = 0
        while n < len(slots):
            slot, n = slots[n], n + 1
            k, text = slot.key, compact(slot.text)
            if not text or _TITLE.match(text):
                continue
            if not is_label(slot.text):
                orphans.append(text)
                continue
            value = slots[n] if n < len(slots) and not is_label(slots[n].text) else None
            if k in _SE_FUND_ROWS and self.kind == "self_evaluation":
                read += self.fund_row(row, slot, value, funds, fund_columns)
                break  # the rest of the row is the fund row's cells
            if value is not None:
                n += 1
            if k in _HEADER and _HEADER[k] in fields and _HEADER[k] not in scalars:
                scalars[_HEADER[k]] = (value, slot)
                read.append(_HEADER[k])
            elif k in _GOALS[self.kind]:
                if value is None or not compact(value.text):
                    value = self.below(i, slot)
                scalars[_GOALS[self.kind][k]] = (value, slot)
                read.append(_GOALS[self.kind][k])
            elif k in _GRADES and self.kind == "self_evaluation":
                scalars["grade"] = (value, slot)
                read.append("grade")
            elif k in FUND_LABELS.values():
                read += self.fund_row(row, slot, value, funds, fund_columns)
        if orphans:
            for path in read or ["form"]:
                self.r.note(path, "unknown_label", f"同行有未识别的单元格 {orphans} / cells of no known label in "
                            f"this row: {orphans}")

    def below(self, i: int, slot: _Slot) -> _Slot | None:
        """A column header's value: the cell under it in the next row of its table."""
        nxt = self.rows[i + 1] if i + 1 < len(self.rows) else None
        if nxt is None or nxt.table != self.rows[i].table:
            return None
        under = nxt.at(slot.col)
        if under is None or not under.top or is_label(under.text):
            return None
        self.consumed.add(under.ident)
        return under

    def fund_row(self, row: _Row, label: _Slot, value: _Slot | None, funds: dict, fund_columns: dict) -> list[str]:
        k = label.key
        if self.kind == "self_evaluation":
            name = _SE_FUND_ROWS.get(k)
            if name is None or name in funds:
                return []
            if fund_columns:
                cells = {field: row.at(col) for col, field in fund_columns.items()}
            else:
                after = row.slots[row.slots.index(label) + 1:]
                cells = dict(zip(_DEFAULT_COLUMNS, after))
                self.r.note(f"funds.{name}", "default_columns", "资金表头未找到，按标准列序读 / fund column headers "
                            "not found; standard order assumed")
            funds[name] = cells
            return [f"funds.{name}"]
        name = _TD_FUND_ROWS.get(k)
        if k == "其他资金":
            name = self.other_fund(label, funds)
        if name is None or name in funds:
            return []
        funds[name] = value
        funds.setdefault("_cols", {})[name] = label.col
        return [f"funds.{name}"]

    def other_fund(self, label: _Slot, funds: dict) -> str | None:
        """其他资金 is printed under both fund columns of a declaration: placed by its column."""
        cols = funds.get("_cols", {})
        left = {cols[n] for n in ("project_total", "project_fiscal") if n in cols}
        right = {cols[n] for n in ("annual_total", "annual_current_year", "annual_carryover") if n in cols}
        if label.col in left:
            return "project_other"
        if label.col in right:
            return "annual_other"
        name = "annual_other" if "project_other" in funds else "project_other"
        self.r.note(f"funds.{name}", "assumed_blank", "其他资金不在任何资金列下，按出现顺序放置 / 其他资金 is under "
                    "neither fund column; placed by order")
        return name

    def indicator(self, row: _Row, columns: dict[int, str], out: list, previous: dict) -> None:
        cells = {field: row.at(col) for col, field in columns.items()}
        name, target = cells.get("name"), cells.get("target")
        if not any(s is not None and s.top and compact(s.text) for f, s in cells.items() if f not in ("level1", "level2")):
            return  # a row of labels only, or blank
        i = len(out)
        fields: dict[str, object] = {}
        notes: list[tuple[str, str, str]] = []
        new_group = False
        for level in ("level1", "level2"):
            slot = cells.get(level)
            text = compact(slot.text) if slot else ""
            before = previous.get(level)
            if slot is not None and not text and before is not None and not new_group:
                code = "after_break" if before.ident[0] != row.table else "filled_down"
                notes.append((level, code, f"{level} 单元格为空，沿用上一组 '{compact(before.text)}' / blank "
                              f"{level} cell: the group above continues"
                              + (" over a table break" if code == "after_break" else "")))
                slot, text = before, compact(before.text)
            elif text:
                new_group = new_group or before is None or slot.ident != before.ident
                previous[level] = slot
            if text and taxonomy.level_of(text) is None:
                notes.append((level, "unknown_label", f"'{text}' 不是已知的{level}标签 / not a known {level} label"))
            fields[level] = text or None
            if not text:
                notes.append((level, "not_found", f"no {level} label for this row"))
        fields["name"] = compact(name.text) if name and name.top and compact(name.text) else None
        if fields["name"] is None:
            notes.append(("name", "name_missing", "no 三级指标 name in this row"))
        fields["target"] = compact(target.text) or None if target else None
        if self.kind == "self_evaluation":
            actual = cells.get("actual")
            fields["actual"] = compact(actual.text) or None if actual else None
            for f in ("weight", "score"):
                fields[f] = self.number(f"indicators[{i}].{f}", cells.get(f))
                if cells.get(f) is not None and not compact(cells[f].text):
                    notes.append((f, "blank_value", f"{f} 单元格为空：漏填或缺格？/ a blank {f} cell: not "
                                  "filled in, or a cell missing from the row?"))
            deviation = cells.get("deviation")
            fields["deviation"] = long_text(deviation.text) or None if deviation and deviation.top else None
        model = SelfEvaluationIndicator if self.kind == "self_evaluation" else DeclarationIndicator
        spans = [s.cell.span for s in row.own if s.cell.span is not None]
        record = model(**fields, span=Span(start=min(s.start for s in spans), end=max(s.end for s in spans))
                       if spans else None)
        out.append(record)
        if record.span is not None:
            self.r.spans[f"indicators[{i}]"] = record.span
        for f in ("name", "target", "actual", "deviation"):
            slot = cells.get(f)
            if slot is not None and slot.top and slot.cell.span is not None and getattr(record, f, None) is not None:
                self.r.spans[f"indicators[{i}].{f}"] = slot.cell.span
        for f, code, message in notes:
            self.r.note(f"indicators[{i}].{f}", code, message)

    def totals(self, row: _Row, head: _Slot, columns: dict[int, str], scalars: dict) -> None:
        if self.kind != "self_evaluation":
            return
        by_field = {field: col for col, field in columns.items()}
        cells = {f: row.at(by_field[f]) for f in ("weight", "score") if f in by_field}
        cells = {f: s for f, s in cells.items() if s is not None and s.ident != head.ident}
        if len(cells) < 2:
            after = [s for s in row.slots[row.slots.index(head) + 1:] if s.top and compact(s.text)]
            cells = dict(zip(("weight", "score"), after))
            self.r.note("total_score", "default_columns", "总分行未按表头对齐，按顺序读 / 总分 cells not under "
                        "the 分值/得分 headers; read left to right")
        scalars["total_weight"] = (cells.get("weight"), head)
        scalars["total_score"] = (cells.get("score"), head)

    # --- the record ---

    def form(self, scalars: dict, funds: dict, indicators: list, columns) -> SelfEvaluation | TargetDeclaration:
        r = self.r
        values = {}
        missing = [name for name in _HEADER.values() if name in FORM_FIELDS[self.kind] and name not in scalars]
        if missing:  # a header printed above the table, in the text
            found = labelled_values(r.anchors, [*_HEADER, "项目资金"], 0, len(r.chunk.text))
            for label, name in _HEADER.items():
                if name in missing and found.get(label) is not None:
                    values[name] = r.value(name, found[label])
                    missing.remove(name)
        for name in missing:
            values[name] = r.value(name, None)
        for name, (slot, label) in scalars.items():
            if name in ("total_weight", "total_score"):
                values[name] = self.number(name, slot)
            elif name.startswith("goal_"):
                text = long_text(slot.text) if slot is not None else ""
                values[name] = self.cell_value(name, slot, text or None, required=name != "goal_overall")
            else:
                text = compact(slot.text) if slot is not None else ""
                if name.startswith("planned_"):
                    text = iso_date(text)
                values[name] = self.cell_value(name, slot, text or None, required=name != "grade")
        if columns is None:
            r.note("indicators", "not_found", "no indicator table (一级指标 …) found in the cells")
        if self.kind == "self_evaluation":
            for name in ("goal_expected", "goal_actual", "total_weight", "total_score"):
                if name not in scalars:
                    values[name] = r.value(name, None)
            rows = {}
            for name in ("total", "current_year", "carryover", "other"):
                if name not in funds:
                    r.note(f"funds.{name}", "not_found", f"fund row {name} not found")
                    continue
                rows[name] = FundRow(**{col: self.number(f"funds.{name}.{col}", slot)
                                        for col, slot in funds[name].items()})
            return SelfEvaluation(**values, **r.common(), funds=SelfEvaluationFunds(**rows), indicators=indicators,
                                  field_spans=r.spans, notes=r.notes)
        if "goal_annual" not in scalars:
            values["goal_annual"] = r.value("goal_annual", None)
        amounts = {}
        for name in ("project_total", "project_fiscal", "project_other", "annual_total", "annual_current_year",
                     "annual_carryover", "annual_other"):
            if name in funds:
                amounts[name] = self.number(f"funds.{name}", funds[name])
            else:
                r.note(f"funds.{name}", "not_found", f"fund cell {name} not found")
        return TargetDeclaration(**values, **r.common(), funds=DeclarationFunds(**amounts), indicators=indicators,
                                 field_spans=r.spans, notes=r.notes)


def read_grid(chunk: Chunk) -> SelfEvaluation | TargetDeclaration:
    """A form read from its chunk's table cells."""
    return _GridReader(chunk).read()
