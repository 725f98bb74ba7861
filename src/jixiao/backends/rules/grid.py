"""The grid reader: a form read from its table cells (Word, Excel, HTML, JSON cells).

Labels are the templates' vocabulary. A label's value is the next cell with text to its right
that is not a label (past the empty cells a PDF extractor leaves where a merge crosses other
rows' rules), or, for a column header (预期目标, 年度总体目标 …), the cells under it down to the
next label row, over a page break too. Fund columns and indicator columns are mapped by their
header's name, not by position; a fund row or 总分 row whose cells are shifted against the headers
is read in the headers' order, the indicator rows by content (grid_indicators.py). A vertically
merged 一级/二级 cell covers exactly the rows its merge covers (`GridCell.merged_into`); a
continuation table whose label cells are empty carries the labels of the group it continues.
Values are recorded as printed (FORMAT.md); each field's span is its cell's span. Where the
reader has to guess (a label it does not know, a number cell that is not a number, a blank label
cell filled down), it notes so and the form's confidence falls."""

from __future__ import annotations

import re

from ...dates import iso_date
from ...schema import (
    FORM_FIELDS, FUND_LABELS, Chunk, DeclarationFunds, FundRow, SelfEvaluation, SelfEvaluationFunds, TargetDeclaration,
)
from ... import taxonomy
from ...text import NULL_MARKS, compact, long_text, parse_number
from ...units import LABEL
from .fields import _TERMINAL, Found, labelled_values
from .grid_cells import GridRow, Slot, grid_rows, is_amount, joined, key
from .grid_indicators import INDICATOR_COLUMNS, IndicatorBlock
from .reader import _DEFAULT_COLUMNS, _FUND_COLUMNS, _HEADER, _SE_FUND_ROWS, _TD_FUND_ROWS, _Reader

_GOALS = {"self_evaluation": {"预期目标": "goal_expected", "实际完成情况": "goal_actual"},
          "target_declaration": {"项目总目标": "goal_overall", "年度总体目标": "goal_annual"}}
_GRADES = ("评分等级", "自评等级", "评价等级", "绩效等级")
# Labels the templates print that hold no FORMAT.md field: known, so not mistaken for values.
_OTHER_LABELS = {"项目负责人", "联系电话", "联系人", "项目资金", "绩效指标", "项目绩效目标", "绩效目标", "年度总体目标",
                 "项目总目标", "总分", "项目编码", "项目代码", "填报单位", "填报人", "预算执行情况"}
_FUND_HEADS = {compact(label): field for label, field in _FUND_COLUMNS}
_TD_LEFT = {"项目资金总额", "财政资金"}  # 其他资金 under these is the whole project's
_LABELS = (set(_HEADER) | set(_GOALS["self_evaluation"]) | set(_GOALS["target_declaration"]) | set(INDICATOR_COLUMNS)
           | set(_GRADES) | _OTHER_LABELS | set(_FUND_HEADS) | set(FUND_LABELS.values()))
_TITLE = re.compile(r"^(?:财政项目支出绩效|[（(]?\d{4}年度?[)）]?$)")


def is_label(text: str) -> bool:
    return key(text) in _LABELS or taxonomy.is_vertical_label(text)


def has_form_cells(chunk: Chunk) -> bool:
    """Whether a chunk's tables hold a form (its header or its indicator table), not some other table."""
    return any(key(cell.text) in ("项目名称", "一级指标", "三级指标", "主管部门")
               for table in chunk.tables for row in table.rows for cell in row)


class _GridReader:
    def __init__(self, chunk: Chunk):
        self.r = _Reader(chunk)
        self.kind = chunk.kind
        self.rows = grid_rows(chunk)
        self.block = IndicatorBlock(self)
        self.consumed: set[tuple[int, int, int]] = set()  # cells read as a column header's value

    # --- recording ---

    def cell_value(self, path: str, slot: Slot | None, value, required: bool = True):
        span = slot.cell.span if slot else None
        if slot is None:
            return self.r.value(path, None, required)
        if value is None or span is None:
            if required and not compact(slot.text):
                self.r.note(path, "blank_cell", f"{path}: its cell is blank")
            return None
        return self.r.value(path, Found(value, span.start, span.end))

    def number(self, path: str, slot: Slot | None):
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
        block: list[tuple[GridRow, dict[int, str]]] = []  # the indicator rows, with the header each stands under
        for i, row in enumerate(self.rows):
            own = [s for s in row.own if compact(s.text) and not taxonomy.is_vertical_label(s.text)
                   and s.ident not in self.consumed]
            if not own:
                continue
            keys = {s.key for s in own}
            if {"一级指标", "三级指标"} & keys:
                columns = self.block.columns(row)  # a continuation table may repeat the header
            elif columns is not None and not (own[0].key in _LABELS and taxonomy.level_of(own[0].text) is None):
                block.append((row, columns))
            elif own[0].key == "总分":
                self.totals(row, own[0], columns or {}, scalars)
            elif len(heads := {s.col: _FUND_HEADS[s.key] for s in own if s.key in _FUND_HEADS}) >= 3:
                fund_columns = heads
                self.fund_heads_missing(heads)
            else:
                self.labels(row, i, fields, scalars, funds, fund_columns)
        return self.form(scalars, funds, self.block.indicators(block), columns)

    def labels(self, row: GridRow, i: int, fields: set[str], scalars: dict, funds: dict, fund_columns: dict) -> None:
        """A row of label–value pairs: header fields, fund rows, goal headers, the grade."""
        read, orphans = [], []
        slots = [s for s in row.slots if s.top and s.ident not in self.consumed]
        goals = self.below(i, [s for s in slots if s.key in _GOALS[self.kind]])
        n = 0
        while n < len(slots):
            slot, n = slots[n], n + 1
            k, text = slot.key, compact(slot.text)
            if not text or _TITLE.match(text):
                continue
            if not is_label(slot.text):
                orphans.append(text)
                continue
            # Its value: the next cell with text, past empty cells (a PDF extractor splits a merge
            # across into empty cells where other rows have rules); a blank cell if none before a label.
            m = next((m for m in range(n, len(slots)) if compact(slots[m].text)), len(slots))
            m = m if m < len(slots) and not is_label(slots[m].text) else n
            value = slots[m] if m < len(slots) and not is_label(slots[m].text) else None
            if k in _SE_FUND_ROWS and self.kind == "self_evaluation":
                read += self.fund_row(row, slot, value, funds, fund_columns)
                break  # the rest of the row is the fund row's cells
            if value is not None:
                n = m + 1
            if k in _HEADER and _HEADER[k] in fields and _HEADER[k] not in scalars:
                scalars[_HEADER[k]] = (value, slot)
                read.append(_HEADER[k])
            elif k in _GOALS[self.kind]:
                if value is None or not compact(value.text):
                    value = goals.get(slot.ident)
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

    def below(self, i: int, heads: list[Slot]) -> dict[tuple[int, int, int], Slot]:
        """Column headers' values (预期目标 | 实际完成情况): the cells under them in the rows below,
        up to the next row holding a label. A row of a later table (the text went on over a page)
        gives its cells to the headers in order when it has one per header, else continues the
        text that a break cut (the one not ending a sentence, else the last)."""
        if not heads:
            return {}
        parts: dict[tuple[int, int, int], list[Slot]] = {h.ident: [] for h in heads}
        for row in self.rows[i + 1:]:
            cells = [s for s in row.own if compact(s.text) and not taxonomy.is_vertical_label(s.text)
                     and s.ident not in self.consumed]
            if any(is_label(s.text) for s in cells):
                break
            if row.table == self.rows[i].table:
                for s in cells:
                    head = max((h for h in heads if h.col <= s.col), key=lambda h: h.col, default=heads[0])
                    parts[head.ident].append(s)
            elif len(cells) == len(heads):
                for head, s in zip(heads, cells):
                    parts[head.ident].append(s)
            else:
                for s in cells:
                    open_ = [h for h in heads if parts[h.ident] and not long_text(parts[h.ident][-1].text)
                             .endswith(_TERMINAL)]
                    parts[(open_[0] if open_ else heads[-1]).ident].append(s)
            self.consumed.update(s.ident for s in cells)
        return {ident: joined(cells) for ident, cells in parts.items() if cells}

    def fund_heads_missing(self, heads: dict[int, str]) -> None:
        """A self-evaluation's fund header without some of the template's columns (预算数 for
        全年预算数): those fields are left null, and the form is not accepted unseen."""
        missing = [f for f in _DEFAULT_COLUMNS if f not in heads.values()]
        if self.kind == "self_evaluation" and missing:
            self.r.note("funds", "default_columns", f"资金表缺少列 {missing} / fund columns {missing} not found: "
                        "those fields left null")

    def fund_row(self, row: GridRow, label: Slot, value: Slot | None, funds: dict, fund_columns: dict) -> list[str]:
        k = label.key
        if self.kind == "self_evaluation":
            name = _SE_FUND_ROWS.get(k)
            if name is None or name in funds:
                return []
            cells = {field: row.at(col) for col, field in sorted(fund_columns.items())}
            after = row.slots[row.slots.index(label) + 1:]
            if cells and not all(s is not None and s.col > label.col and is_amount(s) for s in cells.values()) \
                    and len(after) >= len(cells) and all(is_amount(s) for s in after):
                # The row's cells shifted against the headers (a PDF extractor's columns): in order.
                cells = dict(zip(cells, after))
                self.r.note(f"funds.{name}", "default_columns", "资金行与表头不对齐，按表头顺序读 / the fund row's "
                            "cells do not stand under its headers; read in the headers' order")
            elif not cells:
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

    def other_fund(self, label: Slot, funds: dict) -> str | None:
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

    def totals(self, row: GridRow, head: Slot, columns: dict[int, str], scalars: dict) -> None:
        if self.kind != "self_evaluation":
            return
        by_field = {field: col for col, field in columns.items()}
        cells = {f: row.at(by_field[f]) for f in ("weight", "score") if f in by_field}
        cells = {f: s for f, s in cells.items() if s is not None and s.ident != head.ident}
        after = [s for s in row.slots[row.slots.index(head) + 1:] if s.top and compact(s.text)]
        under = [s for s in cells.values() if compact(s.text)]
        # Under its headers: two cells of their own, or the cells the row prints (one blank total).
        if len(cells) < 2 or cells["weight"].ident == cells["score"].ident or len(under) < len(after):
            cells = dict(zip(("weight", "score"), after))
            self.r.note("total_score", "default_columns", "总分行未按表头对齐，按顺序读 / 总分 cells not under "
                        "the 分值/得分 headers; read left to right")
        scalars["total_weight"] = (cells.get("weight"), head)
        scalars["total_score"] = (cells.get("score"), head)

    def unit(self) -> Found | None:
        """The unit in the 项目资金 cell (项目资金（万元）) where the text does not print it after the
        label: a printed table's text puts a merged cell's wrapped lines in the rows they stand
        beside, so `（万元` and `）` may be lines apart. Its span: the unit's characters, after the
        cell's last opening bracket."""
        offset, text = self.r.anchors.offset, self.r.chunk.text
        for s in (s for row in self.rows for s in row.own if s.key == "项目资金" and s.cell.span is not None):
            m = LABEL.search(compact(s.text))
            if m:
                start, end = s.cell.span.start - offset, s.cell.span.end - offset
                bracket = max(text.rfind("（", start, end), text.rfind("(", start, end))
                at = text.find(m.group(1), bracket, end)
                if bracket >= 0 and at >= 0:
                    return Found(m.group(1), at + offset, at + offset + len(m.group(1)))
        return None

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
            return SelfEvaluation(**values, **r.common(self.unit()), funds=SelfEvaluationFunds(**rows),
                                  indicators=indicators, field_spans=r.spans, notes=r.notes)
        if "goal_annual" not in scalars:
            values["goal_annual"] = r.value("goal_annual", None)
        amounts = {}
        for name in ("project_total", "project_fiscal", "project_other", "annual_total", "annual_current_year",
                     "annual_carryover", "annual_other"):
            if name in funds:
                amounts[name] = self.number(f"funds.{name}", funds[name])
            else:
                r.note(f"funds.{name}", "not_found", f"fund cell {name} not found")
        plan = (values.get("planned_start"), values.get("planned_end"))
        return TargetDeclaration(**values, **r.common(self.unit(), plan), funds=DeclarationFunds(**amounts),
                                 indicators=indicators, field_spans=r.spans, notes=r.notes)


def read_grid(chunk: Chunk) -> SelfEvaluation | TargetDeclaration:
    """A form read from its chunk's table cells."""
    return _GridReader(chunk).read()
