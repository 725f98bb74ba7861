"""The renderers of evals/formats.py (the seeds' gold as DOCX, XLSX, HTML and JSON cells), read
back with python-docx, openpyxl and the standard library: merges where the templates have them,
the spreadsheet's percent cells, formula, hidden row and sheet, the JSON cells' shape, and every
gold value in the rendered file. These test the test material, not the reader."""

from __future__ import annotations

import json
import math
import sys
from html.parser import HTMLParser

import pytest

from conftest import GOLD, ROOT

from jixiao.compare import clean

sys.path.insert(0, str(ROOT / "evals"))
import formats  # noqa: E402

pytestmark = pytest.mark.slow  # every test here takes seconds, or shares a fixture that does

docx = pytest.importorskip("docx")
openpyxl = pytest.importorskip("openpyxl")

GOLDS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLD.glob("*.json"))}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return formats.render(tmp_path_factory.mktemp("formats"))


def _gold_values(form: dict):
    """(path, value) of every non-null gold value of a form."""
    for key, value in form.items():
        if key == "funds":
            for fund, row in value.items():
                for col, v in (row.items() if isinstance(row, dict) else [(None, row)]):
                    yield f"funds.{fund}.{col}", v
        elif key == "indicators":
            for i, row in enumerate(value):
                for col, v in row.items():
                    yield f"indicators[{i}].{col}", v
        else:
            yield key, value


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").removesuffix("%"))
    except ValueError:
        return None


# --- reading the files back ------------------------------------------------------------------

def _docx_cells(path) -> tuple[list[str], str]:
    document = docx.Document(str(path))
    cells = [c.text for t in document.tables for row in t.rows for c in row.cells]
    return cells, "\n".join(p.text for p in document.paragraphs)


def _xlsx_cells(path) -> tuple[list[str], list[float], str]:
    book = openpyxl.load_workbook(path, data_only=True)
    texts, numbers = [], []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    texts.append(cell.value)
                elif isinstance(cell.value, (int, float)):
                    shown = cell.value * 100 if cell.number_format.endswith("%") else cell.value
                    numbers.append(float(shown))
    return texts, numbers, "\n".join(texts)


class _Table(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self.spans, self.tables, self.paragraphs = [], [], 0, []
        self._in = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables += 1
        if tag in ("td", "p"):
            self._in, self._text = tag, ""
            self.spans.extend(k for k, _ in attrs if k in ("rowspan", "colspan"))
        if tag == "br" and self._in:
            self._text += "\n"

    def handle_data(self, data):
        if self._in:
            self._text += data

    def handle_endtag(self, tag):
        if tag == self._in:
            (self.cells if tag == "td" else self.paragraphs).append(self._text)
            self._in = None


def _html(path) -> _Table:
    parser = _Table()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# --- DOCX ------------------------------------------------------------------------------------

def test_docx_merges_label_cells_across_and_level_cells_down(rendered):
    for stem, gold in GOLDS.items():
        document = docx.Document(str(rendered["docx"] / f"{stem}.docx"))
        split = sum(len(f["indicators"]) > formats.SPLIT_ROWS for f in gold["forms"])
        assert len(document.tables) == len(gold["forms"]) + split, stem
        tables = iter(document.tables)
        for form in gold["forms"]:
            table = next(tables)
            cells = [row.cells for row in table.rows]  # a merged cell is the same <w:tc> at each grid position
            width = 9 if form["kind"] == "self_evaluation" else 6
            assert len(table.columns) == width
            name = cells[0][1]
            assert name.text == form["project_name"]
            if width == 9:  # the project name spans the row: one <w:tc> with gridSpan 8
                assert name.grid_span == 8 and name._tc is cells[0][8]._tc
            first = next(r for r, row in enumerate(cells) if row[1].text == "一级指标") + 1
            rows = form["indicators"]
            if len(rows) > formats.SPLIT_ROWS:  # the rest of the rows are in the next table
                rest = [row.cells for row in next(tables).rows]
                assert rest[0][1].text == "" and rest[0][2].text == ""
                trailer = sum(row[0].text in ("总分", "评分等级") for row in rest)
                assert len(cells) - first + len(rest) - trailer == len(rows)
                rows = rows[:len(cells) - first]
            for k, row in enumerate(rows):
                here = cells[first + k]
                assert (here[1].text, here[2].text, here[3].text) == (row["level1"], row["level2"], row["name"])
                if k + 1 < len(rows):  # vMerge: one <w:tc> for the group, continued below
                    below = cells[first + k + 1]
                    same1 = rows[k + 1]["level1"] == row["level1"]
                    same2 = same1 and rows[k + 1]["level2"] == row["level2"]
                    assert (here[1]._tc is below[1]._tc) == same1, (stem, row["name"])
                    assert (here[2]._tc is below[2]._tc) == same2, (stem, row["name"])
        xml = document.element.xml
        assert 'w:vMerge w:val="restart"' in xml and "<w:vMerge/>" in xml and "w:gridSpan" in xml


def test_docx_titles_are_paragraphs_above_each_table(rendered):
    for stem, gold in GOLDS.items():
        _, paragraphs = _docx_cells(rendered["docx"] / f"{stem}.docx")
        kinds = [f["kind"] for f in gold["forms"]]
        assert paragraphs.count(formats.TITLES["self_evaluation"]) == kinds.count("self_evaluation")
        assert paragraphs.count(formats.TITLES["target_declaration"]) == kinds.count("target_declaration")
        assert f"（{gold['forms'][0]['year']}年度）" in paragraphs


# --- XLSX ------------------------------------------------------------------------------------

def test_xlsx_rate_is_a_fraction_shown_as_percent(rendered):
    book = openpyxl.load_workbook(rendered["xlsx"] / "002_0bebddbd16c8cbfb.xlsx")
    sheet = book.worksheets[0]
    label = next(c for row in sheet.iter_rows() for c in row if c.value == "年度资金总额")
    rate = sheet.cell(label.row, label.column + 6)  # 年初 全年预算 全年执行 分值 | 执行率
    assert rate.value == pytest.approx(0.9151) and rate.number_format == "0.00%"
    assert rate.data_type == "n"
    amount = sheet.cell(label.row, label.column + 2)
    assert amount.value == pytest.approx(1765.05) and amount.number_format == "#,##0.00"
    texts = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("=")
             and not c.value.startswith("=SUM")]
    assert texts and all(c.data_type == "s" for c in texts)  # `=56.00(场)` is text, not a formula


def test_xlsx_total_score_is_a_formula_with_its_cached_value(rendered):
    path = rendered["xlsx"] / "002_0bebddbd16c8cbfb.xlsx"
    formulas = openpyxl.load_workbook(path).worksheets[0]
    cached = openpyxl.load_workbook(path, data_only=True).worksheets[0]
    cells = [c.coordinate for row in formulas.iter_rows() for c in row
             if isinstance(c.value, str) and c.value.startswith("=SUM(")]
    assert cells
    totals = {f["total_score"] for f in GOLDS["002_0bebddbd16c8cbfb"]["forms"]}
    for coordinate in cells:
        assert cached[coordinate].value in totals


def test_xlsx_hidden_row_and_sheet_hold_decoys(rendered):
    for stem, gold in GOLDS.items():
        book = openpyxl.load_workbook(rendered["xlsx"] / f"{stem}.xlsx")
        assert [s.sheet_state for s in book.worksheets] == ["visible", "visible", "hidden"]
        first = book.worksheets[0]
        hidden = [r for r, d in first.row_dimensions.items() if d.hidden]
        assert len(hidden) == 1
        assert formats.DECOY_ROW[2] in [c.value for c in first[hidden[0]]]
        draft = book.worksheets[2]
        assert draft["B3"].value == "（草稿）" + gold["forms"][0]["project_name"]
        assert len(first.merged_cells.ranges) > 10


# --- HTML and JSON cells ---------------------------------------------------------------------

def test_html_tables_have_rowspan_and_colspan(rendered):
    for stem, gold in GOLDS.items():
        page = _html(rendered["html"] / f"{stem}.html")
        assert page.tables == len(gold["forms"])
        assert "rowspan" in page.spans and "colspan" in page.spans
        assert page.cells[1] == gold["forms"][0]["project_name"]


def test_json_cells_are_pdfplumber_tables(rendered):
    for stem, gold in GOLDS.items():
        tables = json.loads((rendered["json"] / f"{stem}.json").read_text(encoding="utf-8"))
        assert isinstance(tables, list) and len(tables) == len(gold["forms"])
        for table, form in zip(tables, gold["forms"]):
            width = 9 if form["kind"] == "self_evaluation" else 6
            assert all(len(row) == width for row in table)
            assert all(cell is None or isinstance(cell, str) for row in table for cell in row)
            assert table[0][0].startswith(formats.TITLES[form["kind"]]) and table[0][1:] == [None] * (width - 1)
            assert table[1][:2] == ["项目名称", form["project_name"]]
            header = next(i for i, row in enumerate(table) if row[1] == "一级指标")
            column = [row[1] for row in table[header + 1:header + 1 + len(form["indicators"])]]
            labels = [row["level1"] for row in form["indicators"]]
            # a merged 一级 cell's text at its top, None below it
            assert column == [v if k == 0 or labels[k - 1] != v else None for k, v in enumerate(labels)]


# --- every gold value in every kind ----------------------------------------------------------

def _file_values(kind: str, path) -> tuple[set[str], list[float], str]:
    if kind == "docx":
        cells, paragraphs = _docx_cells(path)
        texts, joined = cells, paragraphs + "\n".join(cells)
    elif kind == "xlsx":
        texts, numbers, joined = _xlsx_cells(path)
        return {clean(t) for t in texts}, numbers, joined
    elif kind == "html":
        page = _html(path)
        texts, joined = page.cells, "\n".join(page.paragraphs + page.cells)
    else:
        tables = json.loads(path.read_text(encoding="utf-8"))
        texts = [c for t in tables for row in t for c in row if c is not None]
        joined = "\n".join(texts)
    numbers = [n for n in map(_number, texts) if n is not None]
    return {clean(t) for t in texts}, numbers, joined


@pytest.mark.parametrize("kind", formats.KINDS)
def test_every_gold_value_is_in_the_rendered_file(rendered, kind):
    suffix = {"json": ".json"}.get(kind, f".{kind}")
    for stem, gold in GOLDS.items():
        texts, numbers, joined = _file_values(kind, rendered[kind] / f"{stem}{suffix}")
        missing = []
        for form in gold["forms"]:
            for path, value in _gold_values(form):
                if value is None or path == "kind":
                    continue
                if path == "year":
                    found = f"{value}年度" in joined
                elif path == "amount_unit":
                    found = f"（{value}）" in joined
                elif isinstance(value, (int, float)):
                    found = any(math.isclose(value, n, rel_tol=1e-9, abs_tol=1e-9) for n in numbers)
                else:
                    found = clean(str(value)) in texts
                if not found:
                    missing.append((form["project_name"], path, value))
        assert not missing, (kind, stem, missing[:5])
