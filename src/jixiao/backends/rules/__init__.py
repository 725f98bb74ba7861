"""The rules back-end: a deterministic reader of both form kinds, the embedded default.

It records values as printed, never recomputes, and never invents: a value it cannot
read is null with a note saying why."""

from __future__ import annotations

from ...dates import iso_date
from ..base import Backend
from ...schema import Chunk, DeclarationFunds, Form, FundRow, SelfEvaluation, SelfEvaluationFunds, TargetDeclaration
from ...text import parse_number
from .fields import Anchors, Found, goal_texts, join_goals, line_end, row_slots
from .grid import has_form_cells, read_grid
from .reader import _DEFAULT_COLUMNS, _FUND_COLUMNS, _GOAL_LABELS, _SE_FUND_ROWS, _TD_FUND_ROWS, _Reader
from .sequence import is_cell_sequence, read_sequence


def _pos(match, default: int) -> int:
    return match.start() if match else default


def read_self_evaluation(chunk: Chunk) -> SelfEvaluation:
    r = _Reader(chunk)
    a, n = r.anchors, len(chunk.text)
    header = r.header({"项目名称": "project_name", "主管部门": "supervising_dept", "实施单位": "implementing_unit"},
                      stop="项目资金")
    funds_at = a.at("项目资金")
    funds_start = funds_at.end() if funds_at else 0
    goals_at = a.at("年度总体目标", "预期目标", after=funds_start)
    head_at = a.at("一级指标", after=_pos(goals_at, funds_start))
    funds_end = _pos(goals_at, _pos(head_at, n))
    funds = _self_evaluation_funds(r, funds_start, funds_end)
    expected, actual = r.goals(_pos(goals_at, funds_end), _pos(head_at, funds_end), 2) if goals_at else (None, None)
    table_start = _header_end(a, head_at, ("改进措施", "得分")) if head_at else n
    total_at = a.at("总分", after=table_start)
    indicators = r.indicators(table_start, _pos(total_at, n))
    total_weight = total_score = grade = None
    if total_at:
        values = [t for t in a.tokens(total_at.end(), line_end(chunk.text, total_at.end()))
                  if parse_number(t.text) is not None]
        total_weight = r.cell("total_weight", values[0] if values else None)
        total_score = r.cell("total_score", values[1] if len(values) > 1 else None)
    else:
        r.note("total_score", "not_found", "no 总分 row found")
    grade_at = a.at("评分等级", after=_pos(total_at, table_start))
    if grade_at:
        tokens = a.tokens(grade_at.end(), line_end(chunk.text, grade_at.end()))
        grade = r.value("grade", Found(tokens[0].text, tokens[0].start, tokens[0].end) if tokens else None,
                        required=False)
        if not tokens:
            r.note("grade", "blank_cell", "the 评分等级 row is there but its cell is blank")
    return SelfEvaluation(
        **header, **r.common(), funds=funds,
        goal_expected=r.value("goal_expected", expected), goal_actual=r.value("goal_actual", actual),
        indicators=indicators, total_weight=total_weight, total_score=total_score, grade=grade,
        field_spans=r.spans, notes=r.notes,
    )


def _header_end(a: Anchors, head_at, closers: tuple[str, ...]) -> int:
    """Where an indicator table's header row ends: after its last column label."""
    for closer in closers:
        m = a.at(closer, after=head_at.end())
        if m and m.start() - head_at.end() < 200:
            return m.end()
    return head_at.end()


def _fund_columns(r: _Reader, start: int, end: int) -> tuple[list[str], list[int]]:
    """The fund table's columns in order, and where each header stands (chunk offsets)."""
    hits = sorted((m.start(), field) for label, field in _FUND_COLUMNS
                  if (m := r.anchors.at(label, after=start)) and m.start() < end)
    columns = [field for _, field in hits]
    if sorted(set(columns)) != sorted(_DEFAULT_COLUMNS):
        r.note("funds", "default_columns", "fund column headers not all found; standard order assumed")
        return list(_DEFAULT_COLUMNS), []
    return columns, [pos for pos, _ in hits]


def _cell_index(text: str, pos: int) -> int:
    """Which tab-separated cell of its line a chunk offset falls in."""
    return text.count("\t", text.rfind("\n", 0, pos) + 1, pos)


def _by_cell(r: _Reader, columns: list[str], heads: list[int], values: list) -> dict | None:
    """A short row's values placed under their headers by tab cell, where the layout keeps
    empty cells (a ruled table read from a scan, whose "-" the reader may not have seen);
    None when the cells do not line up one to one."""
    text, offset = r.chunk.text, r.anchors.offset
    if not heads or "\t" not in text[heads[0]:heads[-1]]:
        return None
    under = {_cell_index(text, pos): col for pos, col in zip(heads, columns)}
    placed = {}
    for cell in values:
        col = under.get(_cell_index(text, cell.start - offset))
        if col is None or col in placed:
            return None
        placed[col] = cell
    return placed


def _self_evaluation_funds(r: _Reader, start: int, end: int) -> SelfEvaluationFunds:
    slots = row_slots(r.anchors, list(_SE_FUND_ROWS), start, end)
    first_row = min((m.start() for label, _ in slots if (m := r.anchors.at(label, after=start))), default=end)
    columns, heads = _fund_columns(r, start, first_row)
    rows: dict[str, FundRow] = {}
    for label, values in slots:
        key = _SE_FUND_ROWS[label]
        if key in rows:
            continue
        placed = dict(zip(columns, values))
        if len(values) not in (0, len(columns)):
            by_cell = _by_cell(r, columns, heads, values)
            if by_cell is not None:
                placed = by_cell
                r.note(f"funds.{key}", "short_row", f"资金行只有 {len(values)} 个值，按单元格位置对应表头 / "
                       f"{len(values)} values for {len(columns)} columns; placed under their headers by table cell, "
                       "the rest left null")
            else:
                r.note(f"funds.{key}", "short_row",
                       f"{len(values)} values for {len(columns)} columns; read left to right, the rest left null")
        rows[key] = FundRow(**{col: r.cell(f"funds.{key}.{col}", cell) for col, cell in placed.items()})
    for key in _SE_FUND_ROWS.values():
        if key not in rows:
            r.note(f"funds.{key}", "not_found", f"fund row {key} not found")
    return SelfEvaluationFunds(**rows)


def read_target_declaration(chunk: Chunk) -> TargetDeclaration:
    r = _Reader(chunk)
    a, n = r.anchors, len(chunk.text)
    header = r.header({"项目名称": "project_name", "项目性质": "project_nature", "项目类别": "project_category",
                       "主管部门": "supervising_dept", "实施单位": "implementing_unit",
                       "计划开始日期": "planned_start", "计划完成日期": "planned_end"}, stop="项目资金")
    for name in ("planned_start", "planned_end"):
        header[name] = iso_date(header[name])
    funds_at = a.at("项目资金")
    funds_start = funds_at.end() if funds_at else 0
    goals_at = a.at("项目绩效目标", "项目总目标", "年度总体目标", after=funds_start)
    head_at = a.at("一级指标", after=_pos(goals_at, funds_start))
    funds = _declaration_funds(r, funds_start, _pos(goals_at, _pos(head_at, n)))
    goal_overall = goal_annual = None
    if goals_at:
        cells = goal_texts(a, r.layout, goals_at.start(), _pos(head_at, n), _GOAL_LABELS)
        if len(cells) == 1:
            r.note("goal_overall", "assumed_blank", "one goal text found; read as 年度总体目标")
            goal_annual = r.value("goal_annual", join_goals(cells, 1)[0])
        else:
            overall, annual = join_goals(cells, 2)
            goal_overall = r.value("goal_overall", overall, required=False)
            goal_annual = r.value("goal_annual", annual)
    table_start = _header_end(a, head_at, ("指标值",)) if head_at else n
    return TargetDeclaration(
        **header, **r.common(plan=(header["planned_start"], header["planned_end"])), funds=funds,
        goal_overall=goal_overall, goal_annual=goal_annual,
        indicators=r.indicators(table_start, n), field_spans=r.spans, notes=r.notes,
    )


def _declaration_funds(r: _Reader, start: int, end: int) -> DeclarationFunds:
    slots = row_slots(r.anchors, [*_TD_FUND_ROWS, "其他资金"], start, end)
    others = [values for label, values in slots if label == "其他资金"]
    # 其他资金 is printed twice: left (whole project) then right (this year's request).
    other_fields = ["project_other", "annual_other"] if len(others) >= 2 else ["annual_other"]
    if len(others) == 1:
        r.note("funds.project_other", "assumed_blank", "one 其他资金 row found; read as the annual column")
    values: dict[str, float | None] = {}
    for label, cells in slots:
        key = _TD_FUND_ROWS.get(label) or (other_fields.pop(0) if other_fields else None)
        if key and key not in values:
            values[key] = r.cell(f"funds.{key}", cells[0] if cells else None) if cells else None
    return DeclarationFunds(**values)


READERS = {"self_evaluation": read_self_evaluation, "target_declaration": read_target_declaration}


class RulesBackend(Backend):
    """The deterministic back-end: no network, no key."""

    name = "rules"
    waits = False  # nothing to wait on: its forms are read one after another, not on a thread pool

    def extract(self, chunk: Chunk) -> Form:
        if has_form_cells(chunk):
            form = read_grid(chunk)
        elif is_cell_sequence(chunk.text):
            form = read_sequence(chunk)  # one cell per line (pdftotext's default)
        else:
            form = READERS[chunk.kind](chunk)
        form.backend = self.name
        return form
