"""A document's text into one chunk per form, in document order, with kind, span and tables.

A form starts at its title (财政项目支出绩效自评表 / 目标申报表). A form whose title is missing
(a table-only extract, a title cropped from a scan) starts where its body does: a 项目名称 row
that the form's other labels follow. Such a form's kind is read off its indicator columns
(实际完成值/得分: a self-evaluation; only 年度/项目指标值: a target declaration) and it carries a
`no_title` note, which lowers its confidence. The tables of a document that holds cells go with
the chunk their rows stand in: a sheet holding several forms is cut at each form's start, a
form continued over several tables keeps them all."""

from __future__ import annotations

import re

from .errors import SegmentationError
from .schema import Chunk, FormKind, GridCell, Note, SourceDoc, Span, Table

# A form title at the start of a line (markdown headings, table pipes, a page feed allowed before it).
_TITLE = re.compile(r"^[ \t#|\f]*(财政项目支出绩效(自评表|目标申报表))", re.M)
_KINDS = {"自评表": "self_evaluation", "目标申报表": "target_declaration"}


def _label(text: str) -> str:
    return r"\s*".join(map(re.escape, text))


# A form's body begins with its 项目名称 label, first in its line or row.
_BODY = re.compile(r"^[ \t#|\f]*(" + _label("项目名称") + ")", re.M)
# Labels every form's body holds soon after 项目名称 (one is enough: a crop may lose some).
_HEADER = re.compile("|".join(_label(t) for t in ("主管部门", "实施单位", "项目资金")))
_HEADER_REACH = 2000
_YEAR_LINE = re.compile(r"[ \t|#\f]*([（(]\s*\d{4}\s*年\s*度?\s*[)）])[ \t|]*")
# What a form holds before the next form's body can begin: its funds and its indicator table.
_FUNDS = re.compile(_label("项目资金"))
_INDICATORS = re.compile("|".join(_label(t) for t in ("一级指标", "三级指标")))
# Kind by the columns: only a self-evaluation reports what was done; only a declaration plans dates.
_SELF_EVALUATION = re.compile("|".join(_label(t) for t in ("实际完成值", "全年执行数", "自评等级", "评分等级"))
                              + r"|(?:^|[\t|])[ \t]*得\s*分[ \t]*(?=$|[\t|])", re.M)
_DECLARATION = re.compile("|".join(_label(t) for t in ("年度指标值", "项目指标值", "年度(/项目)指标值", "计划开始日期",
                                                       "年度资金申请总额", "项目总目标")))


def segment(doc: SourceDoc) -> list[Chunk]:
    """One chunk per form. A document with no form (no title, no form body) is an error, not an
    empty success."""
    starts = _starts(doc.text)
    if not starts:
        raise SegmentationError(
            f"{doc.path or doc.name}: 没有找到绩效表（自评表或目标申报表的标题或表体）/ no form found: no title "
            "财政项目支出绩效自评表 or 财政项目支出绩效目标申报表 and no form body (项目名称, 主管部门, 项目资金 …); "
            "is this a performance form?"
        )
    chunks = []
    for i, (start, kind) in enumerate(starts):
        # A form ends where the next one's line begins (a `## ` or `|` before its title is the next's).
        end = doc.text.rfind("\n", 0, starts[i + 1][0]) + 1 if i + 1 < len(starts) else len(doc.text)
        end = max(start, len(doc.text[:end].rstrip()))
        text = doc.text[start:end]
        notes = []
        if kind is None:
            kind, why = _kind_by_columns(text)
            notes.append(Note(field="kind", code="no_title", message=(
                f"没有表题，按表体识别为{'自评表' if kind == 'self_evaluation' else '目标申报表'}（{why}）/ "
                f"no form title: found by its body, kind {kind} read off its columns ({why})")))
        chunks.append(Chunk(document=doc.name, index=i, kind=kind, span=Span(start=start, end=end), text=text,
                            boxes=[b for b in doc.boxes if b.start < end and b.end > start],
                            tables=_tables_within(doc.tables, start, end),
                            notes=notes + [note.model_copy() for note in doc.notes]))  # a blank page
    return chunks


def _starts(text: str) -> list[tuple[int, FormKind | None]]:
    """Where each form starts, with its kind from the title (None: found by its body)."""
    titles = [(m.start(1), _KINDS[m.group(2)]) for m in _TITLE.finditer(text)]
    starts = list(titles)
    for m in _BODY.finditer(text):
        at = m.start(1)
        if not _HEADER.search(text, m.end(1), m.end(1) + _HEADER_REACH):
            continue  # a lone 项目名称 is not a form
        form_start = max((s for s, _ in starts if s <= at), default=None)
        if form_start is None or _has_body(text, form_start, at):
            starts.append((_heading(text, at, form_start or 0), None))
            starts.sort()
    return starts


def _heading(text: str, at: int, floor: int) -> int:
    """A title-less form's start: its body, or the year line printed just above it ((2023年度))."""
    # Blank lines, empty table rows and rules may stand between the year and the body.
    above = text[floor:text.rfind("\n", 0, at) + 1].rstrip(" \t\n\f|:-\u3000")
    last = above.rfind("\n") + 1
    m = _YEAR_LINE.fullmatch(above, last)
    return floor + m.start(1) if m else at


def _has_body(text: str, start: int, end: int) -> bool:
    """Whether a form from `start` already shows its body before `end`: a second 项目名称 after its
    funds and indicator table is the next form's, one before them is the same form's."""
    funds = _FUNDS.search(text, start, end)
    return bool(funds and _INDICATORS.search(text, funds.end(), end))


def _kind_by_columns(text: str) -> tuple[FormKind, str]:
    se, td = _SELF_EVALUATION.search(text), _DECLARATION.search(text)
    if se:
        return "self_evaluation", f"列 {_shown(se)} / column {_shown(se)}"
    if td:
        return "target_declaration", f"列 {_shown(td)}，无实际完成值 / column {_shown(td)}, no 实际完成值"
    return "self_evaluation", "无可辨列，按自评表读 / no telling column; read as a self-evaluation"


def _shown(m: re.Match[str]) -> str:
    return re.sub(r"\s+", "", m.group())


# --- tables ------------------------------------------------------------------------------------

def _tables_within(tables: list[Table], start: int, end: int) -> list[Table]:
    """The tables, or the runs of their rows, that stand within [start, end)."""
    out = []
    for table in tables:
        if table.span.end <= start or table.span.start >= end:
            continue
        if start <= table.span.start and table.span.end <= end:
            out.append(table)
            continue
        rows = [i for i, at in enumerate(_row_starts(table)) if start <= at < end]
        if rows:
            out.append(_sliced(table, rows[0], rows[-1] + 1, start, end))
    return out


def _row_starts(table: Table) -> list[int]:
    """Where each row stands in the text: its first cell's span; a row of covered or empty cells
    stands where the row before it does (the table's start for a first row)."""
    out, last = [], table.span.start
    for row in table.rows:
        spans = [c.span.start for c in row if c.span is not None]
        last = min(spans) if spans else last
        out.append(last)
    return out


def _sliced(table: Table, first: int, stop: int, start: int, end: int) -> Table:
    """Rows [first, stop) of a table as a table of their own: merges re-based to the new first
    row, a merge from a row left out turned into an empty cell, a merge running past the cut
    ended at it."""
    rows = []
    for r in range(first, stop):
        row = []
        for cell in table.rows[r]:
            if cell.merged_into is not None:
                mr, mc = cell.merged_into
                cell = GridCell() if mr < first else cell.model_copy(update={"merged_into": (mr - first, mc)})
            elif cell.rowspan > stop - r:
                cell = cell.model_copy(update={"rowspan": stop - r})
            row.append(cell)
        rows.append(row)
    spans = [c.span for row in rows for c in row if c.span is not None]
    span = Span(start=max(start, min((s.start for s in spans), default=start)),
                end=min(end, max((s.end for s in spans), default=start)))
    return Table(rows=rows, span=span, source=f"{table.source} rows {first + 1}–{stop}".strip())
