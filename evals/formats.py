"""The seeds' gold rendered into the files users hold: Word, Excel, HTML and JSON table cells.

Each gold document (`fixtures/gold/<stem>.json`) becomes `<kind>/<stem>.<ext>` in OUT, laid out
like the official templates: the title and year in paragraphs above the table, the header rows
(项目名称, 主管部门, 实施单位 …), the funds block, the goals side by side, the indicator table
with its 一级/二级 cells merged down their rows, 总分 and 评分等级. Values are the gold's: strings
as labelled, numbers as the seed prints them (`1,765.05`, `10.00`, `100.00%`: the first of a few
renderings found in the form's own source text). Per kind:

- `docx`: one table per form under its title paragraphs, several forms per file; merged cells
  as Word writes them (vMerge down, gridSpan across); a form of more than 30 indicator rows is
  split over two tables, the cut inside a merged group (its labels stay in the first table).
- `xlsx`: about half the forms on sheet 1, the rest on sheet 2, stacked with a blank row
  between; merged ranges; numbers stored as numbers with the printed format, texts as text
  (`=56.00(场)` is not a formula); 执行率 stored as a fraction with a percent format on every
  form (0.9151 shown as 91.51%, also under a `执行率(%)` header); 得分 of 总分 a SUM formula with its
  cached value where the printed scores add up to it; one hidden decoy indicator row (sheet 1,
  first form) and one hidden sheet holding a decoy draft of the first form: a reader must skip
  both.
- `html`: one `<table>` per form with rowspan/colspan, the title paragraphs above it.
- `json`: table cells as pdfplumber's `extract_tables` gives them: a list of tables, each a
  list of rows of cells, a merged cell's text at its top left and None over the rest. The
  title and year are the table's first row, merged across it (as when a form's title sits
  inside its border; the extractor matrix has the title-less case).

- `pdf` (only when asked for): each form printed on A4 pages as a PDF with a text layer, the
  cells ruled by lines, no rule inside a merged cell, a merged cell's text at the middle of its
  rows (a 一级 label beside its group's middle row, as printed forms show it), long texts
  wrapped in their cells, a long table going on over the next page.
- `scan` (only when asked for; read by OCR, slow): those pages rendered at 200 dpi into a
  multi-page TIFF.

    python evals/formats.py OUT [--kinds docx,xlsx,html,json,pdf,scan] [--no-score]

writes OUT/<kind>/<stem>.<ext> (paired with the gold by stem, as `jixiao eval` pairs documents),
then runs `jixiao extract` and `jixiao eval` on each kind's folder and prints forms found, field
accuracy, rows right, and forms routed accepted (and how many of those have a wrong field)."""

from __future__ import annotations

import argparse
import html
import json
import math
import re
import sys
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "fixtures" / "raw"
GOLD = ROOT / "fixtures" / "gold"
KINDS = ("docx", "xlsx", "html", "json")
# The same forms printed: a PDF with a text layer, and its pages as a scan (read by OCR: slow,
# about 4 s a page). Rendered only when asked for (--kinds pdf,scan).
PRINTED = ("pdf", "scan")
ALL_KINDS = (*KINDS, *PRINTED)
SPLIT_ROWS = 30  # a form with more indicator rows is split over two DOCX tables
TITLES = {"self_evaluation": "财政项目支出绩效自评表", "target_declaration": "财政项目支出绩效目标申报表"}
SE_FUNDS = (("total", "年度资金总额"), ("current_year", "其中：当年财政拨款"), ("carryover", "上年结转资金"),
            ("other", "其他资金"))
SE_FUND_COLS = ("initial_budget", "annual_budget", "executed", "weight", "execution_rate", "score")
DECOY_ROW = ("", "", "宣传册印制数量（已取消）", "≥500(册)", "0(册)", None, None, "本年度取消，不予评分")


# --- a form as a grid of cells ---------------------------------------------------------------

@dataclass
class Cell:
    """A grid cell: its text as printed; for a number, its value and Excel format too."""

    text: str = ""
    value: float | None = None
    fmt: str = "General"
    percent: bool = False
    rows: int = 1
    cols: int = 1
    role: str = ""  # "score" (an indicator's or the funds' 得分), "total_score", "rate" (执行率)


@dataclass
class Grid:
    """One form as printed: title lines and a dense table; None marks a position a merge covers."""

    title: str
    subtitle: str
    cells: list[list[Cell | None]]
    hidden: set[int] = field(default_factory=set)  # rows only a spreadsheet hides
    first_indicator: int = 0  # the row of the first indicator
    indicator_count: int = 0

    @property
    def width(self) -> int:
        return len(self.cells[0])

    def origins(self):
        """(row, col, cell) of every cell that is not covered by a merge."""
        for r, row in enumerate(self.cells):
            for c, cell in enumerate(row):
                if cell is not None:
                    yield r, c, cell


class _Builder:
    def __init__(self, width: int):
        self.width = width
        self.cells: list[list[Cell | None]] = []
        self._taken: set[tuple[int, int]] = set()

    def row(self, *cells: Cell | str | None) -> int:
        """Append a row; cells fill the free positions left to right (a merge from above takes its
        own), a str is a plain cell, None an empty one."""
        r = len(self.cells)
        self.cells.append([None] * self.width)
        c = 0
        for cell in cells:
            while (r, c) in self._taken:
                c += 1
            cell = Cell(cell) if isinstance(cell, str) else cell or Cell()
            self.put(r, c, cell)
            c += cell.cols
        while c < self.width:
            if (r, c) not in self._taken:
                self.put(r, c, Cell())
            c += 1
        return r

    def put(self, r: int, c: int, cell: Cell) -> None:
        if c + cell.cols > self.width:
            raise ValueError(f"row {r}: a cell at column {c} spanning {cell.cols} overflows {self.width} columns")
        self.cells[r][c] = cell
        for dr in range(cell.rows):
            for dc in range(cell.cols):
                self._taken.add((r + dr, c + dc))


def span(cell: Cell | str, rows: int = 1, cols: int = 1) -> Cell:
    cell = Cell(cell) if isinstance(cell, str) else cell
    return replace(cell, rows=rows, cols=cols)


# --- values as printed -----------------------------------------------------------------------

_FORMATS = (("{:,.2f}", "#,##0.00"), ("{:.2f}", "0.00"), ("{:,.1f}", "#,##0.0"), ("{:.1f}", "0.0"))


def _plain(v: float) -> str:
    return str(int(v)) if v == int(v) else repr(v)


def number(v: float | None, source: str, *, percent: bool = False, dash: str = "") -> Cell:
    """A number as the form's source prints it: the first rendering found there, else plain."""
    if v is None:
        return Cell(dash)
    candidates = [(f.format(v), fmt) for f, fmt in _FORMATS] + [(_plain(v), "0" if v == int(v) else "General")]
    suffixes = ("%", "") if percent else ("",)
    for suffix in suffixes:
        for text, fmt in candidates:
            if re.search(rf"(?<![\d.,]){re.escape(text + suffix)}(?![\d]|[.,]\d)", source):
                return Cell(text + suffix, v, fmt + ("%" if suffix else ""), percent=bool(suffix))
    text, fmt = candidates[-1]
    return Cell(text + ("%" if percent else ""), v, fmt + ("%" if percent else ""), percent=percent)


def _dash(source: str) -> str:
    """How the source prints an empty amount cell: `—`, `-` or nothing."""
    if "—" in source:
        return "—"
    return "-" if re.search(r"(?:^|[\s|])-(?:[\s|]|$)", source, re.M) else ""


def _text(value) -> str:
    return "" if value is None else str(value)


# --- the two templates -----------------------------------------------------------------------

def _indicator_rows(b: _Builder, rows: list[dict], cells_of, first: int) -> None:
    """Indicator rows with 一级 merged over its consecutive rows and 二级 over its (一级, 二级) run;
    `first` is the column of 一级."""
    i = 0
    while i < len(rows):
        j = i
        while j < len(rows) and rows[j]["level1"] == rows[i]["level1"]:
            j += 1
        k = i
        while k < j:
            m = k
            while m < j and rows[m]["level2"] == rows[k]["level2"]:
                m += 1
            for n in range(k, m):
                lead = []
                if n == i:
                    lead.append(span(_text(rows[i]["level1"]), rows=j - i))
                if n == k:
                    lead.append(span(_text(rows[k]["level2"]), rows=m - k))
                r = len(b.cells)
                b.cells.append([None] * b.width)
                c = first
                for cell in lead:
                    while (r, c) in b._taken:
                        c += 1
                    b.put(r, c, cell)
                c = first + 2
                for cell in cells_of(rows[n]):
                    b.put(r, c, cell)
                    c += cell.cols
            k = m
        i = j


def self_evaluation(form: dict, source: str, *, decoy: bool = False) -> Grid:
    """The 自评表 template: 9 columns (side label, 一级, 二级, 三级, 指标值, 实际完成值, 分值, 得分, 偏差)."""
    b = _Builder(9)
    dash = _dash(source)
    b.row("项目名称", span(_text(form["project_name"]), cols=8))
    b.row("主管部门", span(_text(form["supervising_dept"]), cols=3), "实施单位",
          span(_text(form["implementing_unit"]), cols=4))
    rate_header = "执行率(%)" if re.search(r"执行率\s*[(（]%[)）]", source) else "执行率"
    b.row(span(f"项目资金\n（{form['amount_unit'] or '元'}）", rows=5), span("", cols=2), "年初预算数", "全年预算数",
          "全年执行数", "分值", rate_header, "得分")
    for key, label in SE_FUNDS:
        values = form["funds"][key]
        cells = [number(values[col], source, percent=col == "execution_rate", dash=dash) for col in SE_FUND_COLS]
        cells[4].role = "rate"
        if key == "total":
            cells[-1].role = "score"
        b.row(span(label, cols=2), *cells)
    b.row(span("年度\n总体\n目标", rows=2), span("预期目标", cols=4), span("实际完成情况", cols=4))
    b.row(span(_text(form["goal_expected"]), cols=4), span(_text(form["goal_actual"]), cols=4))
    rows = form["indicators"]
    b.row(span("绩效\n指标", rows=len(rows) + 1 + decoy), "一级指标", "二级指标", "三级指标", "年度指标值",
          "实际完成值", "分值", "得分", "偏差原因分析及改进措施")
    hidden = set()
    if decoy:
        hidden.add(b.row(*(Cell(v or "") for v in DECOY_ROW)))
    first = len(b.cells)

    def cells_of(row: dict) -> list[Cell]:
        score = number(row["score"], source)
        score.role = "score"
        return [Cell(_text(row["name"])), Cell(_text(row["target"])), Cell(_text(row["actual"])),
                number(row["weight"], source), score, Cell(_text(row["deviation"]))]

    _indicator_rows(b, rows, cells_of, first=1)
    total = number(form["total_score"], source)
    total.role = "total_score"
    b.row(span("总分", cols=6), number(form["total_weight"], source), total, "")
    if form.get("grade") is not None or "评分等级" in source:
        b.row("评分等级", span(_text(form.get("grade")), cols=8))
    return Grid(TITLES["self_evaluation"], f"（{form['year']}年度）", b.cells, hidden, first, len(rows))


def target_declaration(form: dict, source: str, *, decoy: bool = False) -> Grid:
    """The 申报表 template: 6 columns (side label, 一级, 二级, 三级, 指标值 over two)."""
    b = _Builder(6)
    funds = form["funds"]

    def amount(key: str, rows: int = 1, cols: int = 1) -> Cell:
        return span(number(funds[key], source), rows=rows, cols=cols)

    b.row("项目名称", _text(form["project_name"]), "项目性质", _text(form.get("project_nature")), "项目类别",
          _text(form.get("project_category")))
    b.row("主管部门", _text(form["supervising_dept"]), "实施单位", span(_text(form["implementing_unit"]), cols=3))
    b.row("计划开始日期", _text(form.get("planned_start")), "计划完成日期", span(_text(form.get("planned_end")), cols=3))
    b.row(span(f"项目资金\n（{form['amount_unit'] or '元'}）", rows=4), "项目资金总额", amount("project_total"),
          "年度资金申请总额", amount("annual_total", cols=2))
    b.row(span("其中：财政资金", rows=2), amount("project_fiscal", rows=2), "其中：当年财政拨款",
          amount("annual_current_year", cols=2))
    b.row("上年结转资金", amount("annual_carryover", cols=2))
    b.row("其他资金", amount("project_other"), "其他资金", amount("annual_other", cols=2))
    b.row(span("项目\n绩效\n目标", rows=2), span("项目总目标", cols=2), span("年度总体目标", cols=3))
    b.row(span(_text(form.get("goal_overall")), cols=2), span(_text(form.get("goal_annual")), cols=3))
    rows = form["indicators"]
    b.row(span("绩效\n指标", rows=len(rows) + 1 + decoy), "一级指标", "二级指标", "三级指标",
          span("年度(/项目)指标值", cols=2))
    hidden = set()
    if decoy:
        hidden.add(b.row("", "", DECOY_ROW[2], span(DECOY_ROW[3], cols=2)))
    first = len(b.cells)
    _indicator_rows(b, rows, lambda row: [Cell(_text(row["name"])), span(_text(row["target"]), cols=2)], first=1)
    return Grid(TITLES["target_declaration"], f"（{form['year']}年度）", b.cells, hidden, first, len(rows))


def grid(form: dict, source: str, *, decoy: bool = False) -> Grid:
    build = self_evaluation if form["kind"] == "self_evaluation" else target_declaration
    return build(form, source, decoy=decoy)


def cut(g: Grid, at: int) -> tuple[Grid, Grid]:
    """A grid split into two tables before row `at`: merges crossing the cut end in the first;
    the second gets an empty cell over the rest of each (as Word splits a table)."""
    top = [[replace(c, rows=min(c.rows, at - r)) if c else None for c in row] for r, row in enumerate(g.cells[:at])]
    bottom = [list(row) for row in g.cells[at:]]
    for r, row in enumerate(g.cells[:at]):
        for c, cell in enumerate(row):
            if cell is not None and r + cell.rows > at:
                bottom[0][c] = Cell(rows=r + cell.rows - at, cols=cell.cols)
    return (replace(g, cells=top, hidden={h for h in g.hidden if h < at}),
            replace(g, title="", subtitle="", cells=bottom, hidden={h - at for h in g.hidden if h >= at},
                    first_indicator=0, indicator_count=0))


def document_grids(gold: dict, seed: Path, *, decoy: bool = False) -> list[Grid]:
    """One grid per gold form, each with its own source text for the printed number formats."""
    chunks = _chunks(seed, len(gold["forms"]))
    return [grid(f, chunk, decoy=decoy and i == 0) for i, (f, chunk) in enumerate(zip(gold["forms"], chunks))]


def _chunks(seed: Path, count: int) -> list[str]:
    """The source text of each form (the segmenter's chunks), else the seed's whole text for each."""
    try:
        from jixiao.ingest import ingest
        from jixiao.segment import segment

        chunks = [c.text for c in segment(ingest(seed))]
    except Exception:  # the renderer does not depend on the reader; the whole text will do
        chunks = []
    return chunks if len(chunks) == count else [seed.read_text(encoding="utf-8")] * count


def split_point(g: Grid) -> int | None:
    """Where a long form's table is cut: past its middle indicator row, inside a 二级 group."""
    if g.indicator_count <= SPLIT_ROWS:
        return None
    at = g.first_indicator + g.indicator_count // 2
    while at < g.first_indicator + g.indicator_count - 1 and g.cells[at][2] is not None:
        at += 1
    return at


# --- renderers -------------------------------------------------------------------------------

def write_docx(grids: list[Grid], out: Path) -> Path:
    """Title paragraphs and one table per form (two for a long one), a page break between forms."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    doc = Document()
    for n, g in enumerate(grids):
        if n:
            doc.add_page_break()
        at = split_point(g)
        parts = cut(g, at) if at else (g,)
        for k, part in enumerate(parts):
            if k:
                doc.add_paragraph("")
            for line, bold in ((part.title, True), (part.subtitle, False)):
                if line:
                    paragraph = doc.add_paragraph()
                    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
                    paragraph.add_run(line).bold = bold
            _docx_table(doc, part)
    doc.save(out)
    return out


def _docx_table(doc, g: Grid) -> None:
    """A table with its merges as Word writes them: a merged cell's top row carries
    `vMerge restart` and its rows below `vMerge continue`, each with the cell's gridSpan. The
    same markup `_Cell.merge` makes, written directly: merge looks cells up in O(table) each."""
    from docx.table import _Cell

    table = doc.add_table(rows=len(g.cells), cols=g.width)
    table.style = "Table Grid"
    rows = [list(row._tr.tc_lst) for row in table.rows]
    for r0, c0, cell in g.origins():
        for r in range(r0, r0 + cell.rows):
            tc = rows[r][c0]
            tc.grid_span = cell.cols
            if cell.rows > 1:
                tc.vMerge = "restart" if r == r0 else "continue"
            for covered in rows[r][c0 + 1:c0 + cell.cols]:
                covered.getparent().remove(covered)
        _Cell(rows[r0][c0], table).text = cell.text


def write_xlsx(grids: list[Grid], decoys: list[Grid], out: Path) -> Path:
    """About half the forms on sheet 1, the rest on sheet 2; the decoy grids' hidden rows hidden;
    a hidden sheet with a draft of the first form; total 得分 formulas given their cached value."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "绩效表"
    second = book.create_sheet("绩效表(续)")
    half = math.ceil(len(grids) / 2)
    sheets = [(first, [decoys[0], *grids[1:half]]), (second, grids[half:])]
    draft = book.create_sheet("底稿")
    draft.sheet_state = "hidden"
    sheets.append((draft, [_draft(grids[0])]))
    cached: dict[int, dict[str, float]] = {}
    for index, (sheet, part) in enumerate(sheets):
        top = 1
        for g in part:
            top = _xlsx_form(sheet, g, top, cached.setdefault(index, {})) + 1
    book.save(out)
    _cache_formulas(out, cached)
    return out


def _draft(g: Grid) -> Grid:
    """A draft of a form a spreadsheet keeps on a hidden sheet: another name, other scores."""
    cells = [[replace(c) if c else None for c in row] for row in g.cells]
    cells[0][1].text = "（草稿）" + cells[0][1].text
    for row in cells:
        for cell in row:
            if cell is not None and cell.role == "score" and cell.value is not None:
                cell.value = cell.value / 2
                cell.text = _plain(cell.value)
    return replace(g, cells=cells, hidden=set())


def _xlsx_form(sheet, g: Grid, top: int, cached: dict[str, float]) -> int:
    """A form written from row `top`: title, year, table; returns the row after it."""
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    for k, line in enumerate((g.title, g.subtitle)):
        sheet.cell(top + k, 1, line).alignment = Alignment(horizontal="center")
        sheet.merge_cells(start_row=top + k, start_column=1, end_row=top + k, end_column=g.width)
    base = top + 2
    scores: list[tuple[int, int]] = []
    for r, c, cell in g.origins():
        row, col = base + r, c + 1
        target = sheet.cell(row, col)
        if cell.value is not None and cell.role == "rate":  # a rate is a fraction shown as a percent
            target.value = cell.value / 100
            target.number_format = re.sub(r"[#,]", "", cell.fmt).rstrip("%") + "%"
        elif cell.value is not None:
            target.value = cell.value
            target.number_format = cell.fmt
        elif cell.text:
            target.value = cell.text
            target.data_type = "s"  # `=56.00(场)` is text, not a formula
        target.alignment = Alignment(wrap_text=True, vertical="center")
        if cell.role == "score" and cell.value is not None and r not in g.hidden:
            scores.append((row, col))
        if cell.role == "total_score" and cell.value is not None:
            total = sum(sheet.cell(*p).value for p in scores)
            if scores and math.isclose(total, cell.value, abs_tol=0.005):
                target.value = "=SUM(" + ",".join(f"{get_column_letter(cc)}{rr}" for rr, cc in scores) + ")"
                cached[target.coordinate] = cell.value
        if cell.rows > 1 or cell.cols > 1:
            sheet.merge_cells(start_row=row, start_column=col, end_row=row + cell.rows - 1,
                              end_column=col + cell.cols - 1)
    for h in g.hidden:
        sheet.row_dimensions[base + h].hidden = True
    for c in range(g.width):
        letter = get_column_letter(c + 1)
        sheet.column_dimensions[letter].width = max(sheet.column_dimensions[letter].width or 0, 14)
    return base + len(g.cells)


def _cache_formulas(path: Path, cached: dict[int, dict[str, float]]) -> None:
    """openpyxl writes a formula without its cached value (`<v></v>`): put the value in, as Excel
    would on saving, so a reader that takes cached values (data_only=True) sees it."""
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    for index, cells in cached.items():
        name = f"xl/worksheets/sheet{index + 1}.xml"
        xml = parts[name].decode("utf-8")
        for coordinate, value in cells.items():
            pattern = re.compile(rf'(<c r="{coordinate}"[^>]*>)<f>(.*?)</f>(?:<v\s*/>|<v></v>)?')
            xml, count = pattern.subn(lambda m: f"{m.group(1)}<f>{m.group(2)}</f><v>{_plain(value)}</v>", xml)
            if count != 1:
                raise RuntimeError(f"{path}: formula cell {coordinate} not found in {name}")
        parts[name] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def write_html(grids: list[Grid], out: Path, title: str) -> Path:
    body = []
    for g in grids:
        body.append(f'<p class="title"><b>{html.escape(g.title)}</b></p>\n<p class="year">{html.escape(g.subtitle)}</p>')
        rows = []
        for r, row in enumerate(g.cells):
            tds = []
            for cell in filter(None, row):
                attrs = (f' rowspan="{cell.rows}"' if cell.rows > 1 else "") + (
                    f' colspan="{cell.cols}"' if cell.cols > 1 else "")
                tds.append(f"<td{attrs}>{html.escape(cell.text).replace(chr(10), '<br>')}</td>")
            rows.append("<tr>" + "".join(tds) + "</tr>")
        body.append('<table border="1" cellspacing="0">\n' + "\n".join(rows) + "\n</table>")
    out.write_text(f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>{html.escape(title)}'
                   "</title></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n", encoding="utf-8")
    return out


# A4 in points; the print of a form (8 pt, as small as the forms print their tables).
PAGE_W, PAGE_H, PAGE_MARGIN, PDF_SIZE, PDF_LEAD, PDF_PAD = 595.0, 842.0, 36.0, 8.0, 10.0, 3.0
PDF_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def write_pdf(grids: list[Grid], out: Path) -> Path:
    """Each form on A4 pages as a PDF with a text layer (reportlab), as the templates print: the
    title and year centred above a ruled table, each cell's four rules drawn as lines, none
    inside a merged cell, its text wrapped to the cell's width and a merged cell's text at the
    middle of its rows (where a merged 一级/二级 label stands); a table longer than a page goes
    on over the next, a merge cut at the page's end (its text on the first page, as `cut`)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("wqy", str(PDF_FONT), subfontIndex=0))
    pdf = canvas.Canvas(str(out), pagesize=(PAGE_W, PAGE_H))
    for g in grids:
        widths = _pdf_widths(g)
        y = PAGE_H - PAGE_MARGIN
        for line in (g.title, g.subtitle):
            pdf.setFont("wqy", PDF_SIZE + 4 if line == g.title else PDF_SIZE)
            pdf.drawCentredString(PAGE_W / 2, y - PDF_SIZE - 4, line)
            y -= 2 * PDF_LEAD
        part = g
        while part.cells:
            heights = _pdf_heights(part, widths)
            fit = next((k for k in range(1, len(heights) + 1) if sum(heights[:k]) > y - PAGE_MARGIN), None)
            if fit is not None and fit > 1:
                part, rest = cut(part, fit - 1)
                heights = heights[:fit - 1]
            else:
                rest = replace(part, cells=[])
            _pdf_table(pdf, part, widths, heights, y)
            if rest.cells:
                pdf.showPage()
                y = PAGE_H - PAGE_MARGIN
            part = rest
        pdf.showPage()
    pdf.save()
    return out


def _pdf_text_width(text: str) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, "wqy", PDF_SIZE)


def _pdf_widths(g: Grid) -> list[float]:
    """Column widths: each column's widest one-column text (bounded), scaled to the page."""
    natural = [30.0] * g.width
    for _, c, cell in g.origins():
        if cell.cols == 1:
            longest = max((_pdf_text_width(line) for line in cell.text.split("\n")), default=0.0)
            natural[c] = min(max(natural[c], longest + 2 * PDF_PAD), 160.0)
    room = PAGE_W - 2 * PAGE_MARGIN
    return [w * room / sum(natural) for w in natural]


def _pdf_lines(text: str, width: float) -> list[str]:
    """A cell's text wrapped to `width`, its own line breaks kept."""
    out = []
    for paragraph in text.split("\n"):
        line = ""
        for char in paragraph:
            if line and _pdf_text_width(line + char) > width:
                out.append(line)
                line = ""
            line += char
        out.append(line)
    return out if any(out) else []


def _pdf_heights(g: Grid, widths: list[float]) -> list[float]:
    """Row heights: each row tall enough for its one-row cells, a merged cell's last row taller
    where its rows are not tall enough for it."""
    heights = [PDF_LEAD + 2 * PDF_PAD] * len(g.cells)
    needed = [(r, c, len(_pdf_lines(cell.text, sum(widths[c:c + cell.cols]) - 2 * PDF_PAD)) * PDF_LEAD + 2 * PDF_PAD)
              for r, c, cell in g.origins()]
    for r, c, h in needed:
        if g.cells[r][c].rows == 1:
            heights[r] = max(heights[r], h)
    for r, c, h in needed:
        rows = g.cells[r][c].rows
        if rows > 1 and sum(heights[r:r + rows]) < h:
            heights[r + rows - 1] += h - sum(heights[r:r + rows])
    return heights


def _pdf_table(pdf, g: Grid, widths: list[float], heights: list[float], top: float) -> None:
    lefts = [PAGE_MARGIN + sum(widths[:c]) for c in range(g.width + 1)]
    tops = [top - sum(heights[:r]) for r in range(len(g.cells) + 1)]
    pdf.setLineWidth(0.6)
    pdf.setFont("wqy", PDF_SIZE)
    for r, c, cell in g.origins():
        x0, x1, y0, y1 = lefts[c], lefts[c + cell.cols], tops[r], tops[r + cell.rows]
        for a, b, d, e in ((x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)):
            pdf.line(a, b, d, e)
        lines = _pdf_lines(cell.text, x1 - x0 - 2 * PDF_PAD)
        first = (y0 + y1) / 2 + len(lines) * PDF_LEAD / 2  # the text block's top, at the cell's middle
        for k, line in enumerate(lines):
            pdf.drawString(x0 + PDF_PAD, first - (k + 1) * PDF_LEAD + (PDF_LEAD - PDF_SIZE) / 2 + 1, line)


def write_scan(pdf: Path, out: Path, dpi: int = 200) -> Path:
    """The PDF's pages as a scan: a multi-page TIFF of the pages rendered at `dpi`, no text layer."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        pages = [doc[k].render(scale=dpi / 72).to_pil().convert("L") for k in range(len(doc))]
    finally:
        doc.close()
    pages[0].save(out, save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return out


def json_cells(grids: list[Grid]) -> list[list[list[str | None]]]:
    """pdfplumber's extract_tables shape: a merged cell's text at its top left, None elsewhere;
    the title and year a first row merged across the table."""
    tables = []
    for g in grids:
        rows = [[f"{g.title}\n{g.subtitle}", *[None] * (g.width - 1)]]
        rows += [[cell.text if cell is not None else None for cell in row] for row in g.cells]
        tables.append(rows)
    return tables


def render(out: Path, kinds: tuple[str, ...] = KINDS, gold_dir: Path = GOLD, raw: Path = RAW) -> dict[str, Path]:
    """Every gold document in every kind: OUT/<kind>/<stem>.<ext>."""
    folders = {kind: out / kind for kind in kinds}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(gold_dir.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        seed = raw / gold["document"]
        grids = document_grids(gold, seed)
        stem = path.stem
        if "docx" in folders:
            write_docx(grids, folders["docx"] / f"{stem}.docx")
        if "xlsx" in folders:
            write_xlsx(grids, document_grids(gold, seed, decoy=True), folders["xlsx"] / f"{stem}.xlsx")
        if "html" in folders:
            write_html(grids, folders["html"] / f"{stem}.html", stem)
        if "pdf" in folders or "scan" in folders:
            printed = write_pdf(grids, (folders.get("pdf") or out) / f"{stem}.pdf")
            if "scan" in folders:
                write_scan(printed, folders["scan"] / f"{stem}.tif")
                if "pdf" not in folders:
                    printed.unlink()
        if "json" in folders:
            (folders["json"] / f"{stem}.json").write_text(json.dumps(json_cells(grids), ensure_ascii=False, indent=1),
                                                         encoding="utf-8")
    return folders


# --- scoring ---------------------------------------------------------------------------------

def scored(folder: Path, gold: Path = GOLD) -> dict | None:
    """`jixiao extract` + `jixiao eval` on a folder (the scan set's scorer); None when the reader
    read nothing from it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scanset import score

    try:
        report = score(folder, gold)
    except Exception:  # extract refused every file, or there was nothing to score
        return None
    names = {(p.stem, f["project_name"]) for p in gold.glob("*.json")
             for f in json.loads(p.read_text(encoding="utf-8"))["forms"]}
    found = round(report["form_recall"] * len(names))
    wrong = {(Path(m["document"]).stem, m["form"]) for m in report["misses"]}
    accepted = [(Path(d["document"]).stem, f.get("project_name"))
                for d in map(json.loads, folder.with_suffix(".jsonl").read_text(encoding="utf-8").splitlines())
                for f in d["forms"] if (f.get("route") or {}).get("decision") == "accepted"]
    bad = sum(form in wrong or form not in names for form in accepted)
    return report | {"forms_found": found, "gold_forms": len(names), "accepted": len(accepted),
                     "accepted_wrong": bad} if found else None


def table_line(name: str, report: dict | None) -> str:
    if report is None:
        return f"{name:<24} {'not read':>14}"
    return (f"{name:<24} {report['forms_found']:>6} / {report['gold_forms']:<5} {report['overall']:>8.4f}"
            f" ({report['fields_right']:,}/{report['fields_total']:,})  rows right {report['row_recall']:.3f}"
            f"  accepted {report['accepted']} ({report['accepted_wrong']} wrong)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--no-score", action="store_true", help="only write the files")
    args = parser.parse_args()
    kinds = tuple(k for k in args.kinds.split(",") if k)
    unknown = set(kinds) - set(ALL_KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}; choose from {','.join(ALL_KINDS)}")
    folders = render(args.out, kinds)
    for kind, folder in folders.items():
        print(f"{kind}: {len(list(folder.iterdir()))} files in {folder}", file=sys.stderr)
    if not args.no_score:
        print(f"{'kind':<24} {'forms':>14} {'fields':>8}")
        for kind, folder in folders.items():
            print(table_line(kind, scored(folder)))


if __name__ == "__main__":
    main()
