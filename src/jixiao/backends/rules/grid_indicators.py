"""The grid reader's indicator table: rows read by column under the header's names where every
row's cells stand under their headers; else by content, as the text reader reads a row's cells
(a PDF extractor's cells shifted against the header, a page's table cut to other columns, a
label cut by a page break)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ... import taxonomy
from ...schema import ROW_BY_KIND, ROW_FIELDS, Span
from ...text import compact, long_text, parse_number
from .cells import Cell, Row
from .grid_cells import GridRow, Slot
from .indicators import IndicatorTable

if TYPE_CHECKING:
    from .grid import _GridReader

INDICATOR_COLUMNS = {"一级指标": "level1", "二级指标": "level2", "三级指标": "name", "指标名称": "name",
                      "指标值": "target", "年度指标值": "target", "项目指标值": "target", "年度目标值": "target",
                      "实际完成值": "actual", "实际值": "actual", "分值": "weight", "权重": "weight",
                      "得分": "score", "偏差原因分析及改进措施": "deviation", "偏差原因分析": "deviation",
                      "偏差原因": "deviation", "未完成原因分析": "deviation"}
_OPERATOR = re.compile(r"^[<>=≥≤≧≦＝]")
_DIGIT = re.compile(r"\d")


class IndicatorBlock:
    """One form's indicator rows, read for a grid reader (its notes, spans and number cells)."""

    def __init__(self, reader: _GridReader):
        self.r = reader.r
        self.kind = reader.kind
        self.number = reader.number

    def indicators(self, block: list[tuple[GridRow, dict[int, str]]]) -> list:
        """The indicator rows read by column where every row's cells stand under their headers;
        else (a PDF extractor's cells shifted against the header, a page's table cut to other
        columns) by content, as the text reader reads a row's cells."""
        out: list = []
        if all(self.aligned(row, columns) for row, columns in block):
            previous: dict[str, Slot] = {}
            for row, columns in block:
                self.indicator(row, columns, out, previous)
            self.doubt_edges(out)
            return out
        self.r.note("indicators", "columns_misaligned", "指标行的单元格与表头列不对齐，按内容读 / the indicator "
                    "rows' cells do not stand under their headers: read by content")
        table = IndicatorTable(self.kind)
        last = None
        for row, _ in block:
            cells = [Cell(s.text, s.cell.span.start, s.cell.span.end, s.col) for s in row.own
                     if compact(s.text) and s.cell.span is not None]
            if not cells:
                continue
            notes = [("after_break", "a table break before this row")] if last is not None and row.table != last else []
            last = row.table
            table.add(Row(cells, notes))
        records, notes = table.records()
        self.r.notes += notes
        for i, record in enumerate(records):
            self.r.spans[f"indicators[{i}]"] = record.span
        return records

    def doubt_edges(self, out: list) -> None:
        """A row at the edge of its 二级 group whose words or unit are of the neighbouring group's
        kind and not its own (`书籍上架完好率 =100%` as the last row under 数量指标, 质量指标 next):
        the merged cell may span one row too many or too few; the reader keeps the merge's
        label and says it may be the other group's."""
        for i, row in enumerate(out):
            values = (row.target, getattr(row, "actual", None))
            for j in (i - 1, i + 1):
                other = out[j] if 0 <= j < len(out) else None
                if (other is None or other.level1 != row.level1 or not row.level2 or not other.level2
                        or other.level2 == row.level2):
                    continue
                if taxonomy.side((row.name, values), row.level2, other.level2) == "below":
                    self.r.note(f"indicators[{i}].level2", "level_ambiguous", f"'{row.name}' 像是 '{other.level2}' "
                                f"一组的指标，却在 '{row.level2}' 的合并单元格里 / reads as a '{other.level2}' "
                                f"row, yet its merged label is '{row.level2}'")

    def aligned(self, row: GridRow, columns: dict[int, str]) -> bool:
        """Whether a row's cells stand under their headers, as far as a shift shows: no cell with
        text under no column, no value (`=5.00(名/场)`, `15`) under a label or name column, no
        target-like text (`完成率 100%`) under 分值/得分. A lone odd cell (a weight `十`, a 一级 not in
        the taxonomy) is not a shift: it is read where it stands and noted."""
        for s in row.own:
            text = compact(s.text)
            if not text or taxonomy.is_vertical_label(s.text):
                continue
            field = columns.get(s.col)
            if field is None:
                return False
            if field in ("level1", "level2", "name") and (_OPERATOR.match(text) or parse_number(text) is not None):
                return False
            if field in ("level1", "level2") and taxonomy.level_of(text) and not taxonomy.is_full_label(text):
                return False  # a label cut by a break: its end is in a row below (read by content, rejoined)
            if field in ("weight", "score") and parse_number(text) is None and _DIGIT.search(text):
                return False
        return True

    def columns(self, row: GridRow) -> dict[int, str]:
        out = {s.col: INDICATOR_COLUMNS[s.key] for s in row.own if s.key in INDICATOR_COLUMNS}
        # Two headers of one field (年度指标值 and 项目指标值, 分值 and 权重): which one the form means
        # is a guess, the last one read.
        twice = sorted({f for f in out.values() if list(out.values()).count(f) > 1})
        if twice:
            heads = [compact(s.text) for s in row.own if s.key in INDICATOR_COLUMNS and INDICATOR_COLUMNS[s.key] in twice]
            self.r.note("indicators", "column_twice", f"指标表头 {heads} 是同一字段的几列，取最后一列 / the indicator "
                        f"headers {heads} name one field {twice}: the last column read")
        unknown = [compact(s.text) for s in row.own if compact(s.text) and s.key not in INDICATOR_COLUMNS
                   and not taxonomy.is_vertical_label(s.text)]
        if unknown:
            self.r.note("indicators", "unknown_label", f"指标表头有未知列 {unknown} / unknown indicator columns "
                        f"{unknown}: not read")
        missing = [f for f in ROW_FIELDS[self.kind] if f not in out.values()]
        if missing:
            self.r.note("indicators", "default_columns", f"指标表缺少列 {missing} / indicator columns {missing} "
                        "not found: those fields left null")
        return out

    def indicator(self, row: GridRow, columns: dict[int, str], out: list, previous: dict) -> None:
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
        parents = taxonomy.parent_of(fields["level2"] or "")
        if fields["level1"] and parents and fields["level1"] not in parents:
            # A 一级 merge printed a row too long or short: the 二级 belongs under another 一级.
            for level in ("level1", "level2"):
                notes.append((level, "level_ambiguous", f"二级 '{fields['level2']}' 不属于一级 '{fields['level1']}' / "
                              f"the 二级 '{fields['level2']}' is not under the 一级 '{fields['level1']}'"))
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
        model = ROW_BY_KIND[self.kind]
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
