"""JSON table cells (pdfplumber's `extract_tables`, camelot and the like) to a SourceDoc.

Accepted shapes: a list of tables; one table; `{"tables": [...]}`; a list of
`{"page": n, "tables": [...]}`. A table is a list of rows, a row a list of cells (text, a number
or null) or, as camelot's `to_json` writes, an object of cells keyed by column number.

A null is a position covered by a merge; whose merge is decided in reading order:
1. the merge of the cell to its left when that merge spans rows and already covers this column
   (a block merged both ways, its second row and below);
2. else the merge of the cell to its left when that merge starts in this row (a cell merged
   across: 总分, 年度资金总额, a goal text);
3. else the merge above (a cell merged down: 项目资金, a 一级/二级 label beside another merged
   label); a null with nothing left of it in its row and nothing above it is an empty cell.
A null with text to its left is thus read as merged across, never down: pdfplumber's cells
cannot tell the two apart there, and forms merge across beside text (`年度总体目标` over two
goal columns) far more often than they merge a column down beside text. A block merged both
ways with text left of its lower rows is the case this misreads (as merged across).
So `["项目资金", "年初预算数"]` over `[null, "10.00"]` is 项目资金 merged down, and `["项目名称",
"X", null]` is X merged across."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import CorruptFile, EmptyDocument
from ..schema import SourceDoc
from .rendering import Origins, Rendering, grid

SHAPE = ("a list of tables, each a list of rows of cells (text or null), or {\"tables\": [...]}, or "
         "[{\"page\": n, \"tables\": [...]}]")


def tables_of(data) -> list[tuple[str, list[list]]] | None:
    """(source, rows) of each table in parsed JSON, or None if it is not table cells."""
    if isinstance(data, dict) and isinstance(data.get("tables"), list):
        data = data["tables"]
    if not isinstance(data, list) or not data:
        return None
    if all(isinstance(p, dict) and isinstance(p.get("tables"), list) for p in data):
        out = []
        for k, page in enumerate(data, 1):
            for t, table in enumerate(page["tables"], 1):
                rows = _table(table)
                if rows is None:
                    return None
                out.append((f"page {page.get('page', k)} table {t}", rows))
        return out
    one = _table(data)
    if one is not None:
        return [("table 1", one)]  # one table
    tables = [_table(t) for t in data]
    if any(t is None for t in tables):
        return None
    return [(f"table {k}", t) for k, t in enumerate(tables, 1)]


def _no_tables(data) -> bool:
    """An extractor's answer of no tables: `[]`, `{"tables": []}`, pages whose table lists are empty."""
    if isinstance(data, dict) and isinstance(data.get("tables"), list):
        data = data["tables"]
    return isinstance(data, list) and all(
        isinstance(p, dict) and p.get("tables") == [] for p in data)


def _cell(x) -> bool:
    # json.loads takes NaN and Infinity: no cell prints them, and a number must be finite.
    return x is None or isinstance(x, str) or (isinstance(x, int) and not isinstance(x, bool)) or (
        isinstance(x, float) and math.isfinite(x))


def _table(table) -> list[list] | None:
    if not isinstance(table, list) or not table:
        return None
    rows = []
    for row in table:
        if isinstance(row, dict):  # camelot: {"0": "...", "1": "..."}
            try:
                row = [row[k] for k in sorted(row, key=int)]
            except (TypeError, ValueError):
                return None
        if not isinstance(row, list) or not all(_cell(x) for x in row):
            return None
        rows.append([x if x is None or isinstance(x, str) else _number(x) for x in row])
    return rows


def _number(x: int | float) -> str:
    return str(x) if isinstance(x, int) else str(int(x)) if x == int(x) else repr(x)


def read_cells(path: Path) -> SourceDoc:
    """A .json file of table cells."""
    from .text import decode

    text = decode(path.read_bytes(), str(path))[0]
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except (json.JSONDecodeError, RecursionError) as exc:
        raise CorruptFile(f"{path}: 不是有效的 JSON / not valid JSON ({exc})") from None
    if _no_tables(data):
        raise EmptyDocument(f"{path}: JSON 中没有表格：提取工具没有找到带框线的表格（表格无框线？）；请直接读取 PDF 或用提取工具的"
                            f"文本输出 / no tables in the JSON cells: the extractor found no ruled table (a form "
                            f"printed without rules?); read the PDF itself, or the extractor's text output")
    tables = tables_of(data)
    if tables is None:
        raise CorruptFile(f"{path}: JSON 不是表格单元格 / the JSON is not table cells: expected {SHAPE}")
    return cells_doc(tables, path.name, str(path))


def cells_doc(tables: list[tuple[str, list[list]]], name: str = "<cells>", path: str | None = None) -> SourceDoc:
    out = Rendering()
    for source, rows in tables:
        out.table(merged(rows), source)
    return out.source_doc(name, path, "json cells")


def merged(rows: list[list[str | None]]):
    """A table of cells with nulls under merges as a grid (the rule in the module's docstring)."""
    width = max((len(row) for row in rows), default=0)
    origins: Origins = {}
    owner: dict[tuple[int, int], tuple[int, int]] = {}
    extent: dict[tuple[int, int], list[int]] = {}  # origin -> [last row, last col]
    for r, row in enumerate(rows):
        row = [*row, *[""] * (width - len(row))]
        for c, value in enumerate(row):
            if value is not None:
                origins[(r, c)] = (value, 1, 1)
                owner[(r, c)] = (r, c)
                extent[(r, c)] = [r, c]
                continue
            origin = _owner(r, c, owner, extent)
            if origin is None:
                continue
            owner[(r, c)] = origin
            extent[origin][0] = max(extent[origin][0], r)
            extent[origin][1] = max(extent[origin][1], c)
    for (r, c), (text, _, _) in origins.items():
        last_r, last_c = extent[(r, c)]
        origins[(r, c)] = (text, last_r - r + 1, last_c - c + 1)
    return grid(origins, len(rows), width)


def _owner(r, c, owner, extent):
    left = owner.get((r, c - 1)) if c else None
    if left is not None and (left[0] == r or c <= extent[left][1]):
        return left  # 1 and 2
    return owner.get((r - 1, c)) if r else None  # 3
