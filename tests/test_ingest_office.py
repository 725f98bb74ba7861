"""The cell-seeing readers: Word and Excel files built here with python-docx, openpyxl and xlwt,
and the seeds' gold rendered by evals/formats.py. Each test reads the grid back (merge
positions, displayed values) and checks that every cell's span points at its text."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import ROOT

from jixiao.errors import InputError
from jixiao.ingest import ingest
from jixiao.schema import SourceDoc, Table

docx = pytest.importorskip("docx")
openpyxl = pytest.importorskip("openpyxl")
sys.path.insert(0, str(ROOT / "evals"))
import formats  # noqa: E402


def texts(table: Table) -> list[list[str]]:
    return [[cell.text for cell in row] for row in table.rows]


def merges(table: Table) -> dict[tuple[int, int], tuple[int, int]]:
    """(row, col) -> (rowspan, colspan) of each merged cell."""
    return {(r, c): (cell.rowspan, cell.colspan) for r, row in enumerate(table.rows) for c, cell in enumerate(row)
            if cell.rowspan > 1 or cell.colspan > 1}


def assert_consistent(doc: SourceDoc) -> None:
    """Every non-empty cell's span holds its text (a line break shown as a space); every covered
    position names a top-left whose merge reaches it; the table's span holds its rows."""
    for table in doc.tables:
        width = len(table.rows[0])
        assert all(len(row) == width for row in table.rows)
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row):
                if cell.merged_into:
                    r0, c0 = cell.merged_into
                    top = table.rows[r0][c0]
                    assert not cell.text and r0 <= r < r0 + top.rowspan and c0 <= c < c0 + top.colspan
                elif cell.text:
                    assert doc.text[cell.span.start:cell.span.end] == cell.text.replace("\n", " ")
                    assert table.span.start <= cell.span.start <= cell.span.end <= table.span.end
                else:
                    assert cell.span is None
        lines = doc.text[table.span.start:table.span.end].split("\n")
        assert len(lines) == len(table.rows) and all(line.count("\t") == width - 1 for line in lines)


# --- Word ------------------------------------------------------------------------------------

def test_a_docx_table_with_merges_both_ways_a_nested_table_and_a_line_break(tmp_path):
    document = docx.Document()
    document.add_paragraph("财政项目支出绩效自评表")
    document.add_paragraph("（2023年度）")
    table = document.add_table(rows=4, cols=4)
    table.cell(0, 0).text = "项目名称"
    table.cell(0, 1).merge(table.cell(0, 3)).text = "居委办公经费"   # across three columns
    table.cell(1, 0).merge(table.cell(3, 0)).text = "绩效\n指标"       # down three rows
    table.cell(1, 1).text, table.cell(1, 2).text, table.cell(1, 3).text = "产出指标", "数量指标", "=100%"
    table.cell(2, 1).merge(table.cell(3, 2)).text = "满意度指标"       # a 2 × 2 block
    nested = table.cell(2, 3).add_table(rows=1, cols=2)
    nested.cell(0, 0).text, nested.cell(0, 1).text = "内表", "甲"
    document.add_paragraph("附注")
    document.add_table(rows=1, cols=2).cell(0, 0).text = "第二表"
    path = tmp_path / "form.docx"
    document.save(path)

    doc = ingest(path)
    assert_consistent(doc)
    assert [t.source for t in doc.tables] == ["table 1", "table 2"]
    first = doc.tables[0]
    assert merges(first) == {(0, 1): (1, 3), (1, 0): (3, 1), (2, 1): (2, 2)}
    assert [first.rows[0][c].merged_into for c in range(4)] == [None, None, (0, 1), (0, 1)]
    assert [first.rows[r][0].merged_into for r in range(4)] == [None, None, (1, 0), (1, 0)]
    assert first.rows[3][2].merged_into == (2, 1) and first.origin(3, 2).text == "满意度指标"
    assert first.rows[1][0].text == "绩效\n指标"
    assert "内表 甲" in first.rows[2][3].text
    lines = doc.text.split("\n")
    assert lines[:3] == ["财政项目支出绩效自评表", "（2023年度）", "项目名称\t居委办公经费\t\t"]
    assert "绩效 指标\t产出指标\t数量指标\t=100%" in lines
    assert doc.text.index("附注") > first.span.end and doc.tables[1].span.start > doc.text.index("附注")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return formats.render(tmp_path_factory.mktemp("formats"))


def _expected(g: formats.Grid) -> tuple[list[list[str]], dict]:
    cells = [[cell.text if cell else "" for cell in row] for row in g.cells]
    spans = {(r, c): (cell.rows, cell.cols) for r, c, cell in g.origins() if cell.rows > 1 or cell.cols > 1}
    return cells, spans


def _gold_grids(stem: str, decoy: bool = False) -> list[formats.Grid]:
    import json

    gold = json.loads((formats.GOLD / f"{stem}.json").read_text(encoding="utf-8"))
    return formats.document_grids(gold, formats.RAW / gold["document"], decoy=decoy)


@pytest.mark.slow
def test_the_seeds_as_docx_are_read_table_for_table(rendered):
    for path in sorted(rendered["docx"].glob("*.docx")):
        doc = ingest(path)
        assert_consistent(doc)
        parts = [p for g in _gold_grids(path.stem) for p in (formats.cut(g, formats.split_point(g))
                                                            if formats.split_point(g) else (g,))]
        assert len(doc.tables) == len(parts), path.name
        for table, part in zip(doc.tables, parts):
            cells, spans = _expected(part)
            assert texts(table) == cells and merges(table) == spans
        assert doc.text.count("财政项目支出绩效") == len(_gold_grids(path.stem))


# --- Excel -----------------------------------------------------------------------------------

def _workbook(tmp_path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "表一"
    ws["A1"] = "财政项目支出绩效自评表"
    ws.merge_cells("A1:E1")
    ws["A2"], ws["B2"], ws["C2"], ws["D2"], ws["E2"] = "项目资金", "全年预算数", "执行率", "日期", "得分"
    ws.merge_cells("A2:A4")
    ws["B3"], ws["B3"].number_format = 1765.05, "#,##0.00"
    ws["C3"], ws["C3"].number_format = 0.9151, "0.00%"
    ws["D3"], ws["D3"].number_format = __import__("datetime").datetime(2026, 1, 1), "yyyy/m/d"
    ws["E3"], ws["E3"].number_format = 10, "0.00"
    ws["B4"] = "已取消的行"
    ws.row_dimensions[4].hidden = True
    ws["F2"] = "隐藏列"
    ws.column_dimensions["F"].hidden = True
    ws["B5"], ws["C5"] = "合计", "=SUM(E3:E3)"
    ws["D5"] = "=E3*2"  # no cached value: read blank, with a note
    ws["A7"] = "第二张表"  # after an empty row: a table of its own
    ws.merge_cells("A7:B8")
    ws["C8"] = "右下"
    hidden = book.create_sheet("底稿")
    hidden["A1"] = "草稿"
    hidden.sheet_state = "hidden"
    very = book.create_sheet("暗表")
    very["A1"] = "更暗"
    very.sheet_state = "veryHidden"
    book.create_sheet("空表")
    path = tmp_path / "book.xlsx"
    book.save(path)
    formats._cache_formulas(path, {0: {"C5": 10}})
    return path


def test_an_xlsx_shows_values_as_displayed_and_skips_what_is_hidden(tmp_path):
    doc = ingest(_workbook(tmp_path))
    assert_consistent(doc)
    assert [t.source for t in doc.tables] == ["sheet 表一 rows 1–5", "sheet 表一 rows 7–8"]
    first, second = doc.tables
    assert texts(first) == [["财政项目支出绩效自评表", "", "", "", ""],
                            ["项目资金", "全年预算数", "执行率", "日期", "得分"],
                            ["", "1,765.05", "91.51%", "2026/1/1", "10.00"],
                            ["", "合计", "10", "", ""]]
    assert merges(first) == {(0, 0): (1, 5), (1, 0): (2, 1)}  # A2:A4 less its hidden row
    assert first.rows[2][0].merged_into == (1, 0)
    assert merges(second) == {(0, 0): (2, 2)} and second.rows[1][2].text == "右下"
    assert "草稿" not in doc.text and "更暗" not in doc.text and "已取消" not in doc.text and "隐藏列" not in doc.text
    assert [n.code for n in doc.notes] == ["formula_without_value"] and "表一!D5" in doc.notes[0].message


@pytest.mark.slow
def test_the_seeds_as_xlsx_skip_the_decoy_row_and_sheet(rendered):
    for path in sorted(rendered["xlsx"].glob("*.xlsx")):
        doc = ingest(path)
        assert_consistent(doc)
        assert "已取消" not in doc.text and "草稿" not in doc.text
        grids = _gold_grids(path.stem)
        assert doc.text.count("财政项目支出绩效") == len(grids)
        # Each form's own rows (its title and year rows above) in the tables, in order.
        rows, start = [row for t in doc.tables for row in texts(t)], 0
        for g in grids:
            cells, _ = _expected(g)
            for r, c, cell in g.origins():  # a rate is a fraction with a percent format: shown with %
                if cell.role == "rate" and cell.value is not None and not cell.text.endswith("%"):
                    cells[r][c] += "%"
            start = rows.index([g.title, *[""] * (g.width - 1)], start)
            assert rows[start + 2:start + 2 + len(cells)] == cells, path.name
            start += 1
    one = ingest(rendered["xlsx"] / "001_ec90f154ecebac5e.xlsx")
    assert "100.00%" in one.text  # 执行率 stored as 1 with a percent format


def test_an_xls_is_read_through_xlrd(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    ws = book.add_sheet("表")
    ws.write_merge(0, 0, 0, 2, "财政项目支出绩效目标申报表")
    ws.write_merge(1, 2, 0, 0, "项目资金")
    ws.write(1, 1, 1217200, xlwt.easyxf(num_format_str="#,##0.00"))
    ws.write(1, 2, 0.5, xlwt.easyxf(num_format_str="0%"))
    ws.write(2, 1, "隐藏")
    ws.row(2).hidden = True
    draft = book.add_sheet("底稿")
    draft.write(0, 0, "草稿")
    draft.visibility = 1
    path = tmp_path / "old.xls"
    book.save(str(path))
    doc = ingest(path)
    assert_consistent(doc)
    assert texts(doc.tables[0]) == [["财政项目支出绩效目标申报表", "", ""], ["项目资金", "1,217,200.00", "50%"]]
    assert merges(doc.tables[0]) == {(0, 0): (1, 3)}
    assert "草稿" not in doc.text and "隐藏" not in doc.text
    misnamed = tmp_path / "old.xlsx"  # an .xls saved under the new suffix is read as what it is
    misnamed.write_bytes(path.read_bytes())
    assert texts(ingest(misnamed).tables[0]) == texts(doc.tables[0])


# --- HTML and JSON cells ---------------------------------------------------------------------

def test_html_tables_follow_rowspan_and_colspan(tmp_path):
    page = ("<html><head><meta charset='gbk'><title>不读</title><style>td{}</style></head><body>"
            "<p>财政项目支出绩效自评表</p><p>（2023 年度）</p>"
            "<table><tr><td rowspan='2'>绩效<br>指标</td><td colspan=\"2\">产出指标</td></tr>"
            "<tr><td>数量</td><td>=1<table><tr><td>内</td><td>表</td></tr></table></td></tr>"
            "<tr><td>满意</td><th>  x   y </th><td></td></tr></table><div>尾注</div></body></html>")
    path = tmp_path / "form.html"
    path.write_bytes(page.encode("gbk"))
    doc = ingest(path)
    assert_consistent(doc)
    table = doc.tables[0]
    assert texts(table) == [["绩效\n指标", "产出指标", ""], ["", "数量", "=1\n内 表"], ["满意", "x y", ""]]
    assert merges(table) == {(0, 0): (2, 1), (0, 1): (1, 2)}
    assert doc.text.split("\n")[:2] == ["财政项目支出绩效自评表", "（2023 年度）"]
    assert "不读" not in doc.text and "td{}" not in doc.text and doc.text.rstrip().endswith("尾注")


@pytest.mark.slow
def test_the_seeds_as_html_and_json_cells_are_read_table_for_table(rendered):
    for kind, ext in (("html", "html"), ("json", "json")):
        for path in sorted(rendered[kind].glob(f"*.{ext}")):
            doc = ingest(path)
            assert_consistent(doc)
            grids = _gold_grids(path.stem)
            assert len(doc.tables) == len(grids), path.name
            for table, g in zip(doc.tables, grids):
                cells, spans = _expected(g)
                if kind == "json":  # the title and year: a first row merged across
                    assert texts(table)[0][0] == f"{g.title}\n{g.subtitle}"
                    spans = {(r + 1, c): s for (r, c), s in spans.items()} | {(0, 0): (1, g.width)}
                    cells = [[f"{g.title}\n{g.subtitle}", *[""] * (g.width - 1)], *cells]
                assert texts(table) == cells and merges(table) == spans, path.name


@pytest.mark.parametrize("cells, expected", [
    # merged down under a label; merged across to its right
    ([["项目资金", "年初预算数", "其他"], [None, "10.00", None]], {(0, 0): (2, 1), (1, 1): (1, 2)}),
    # a 2 × 2 block: its lower row read as its own, beside nothing
    ([["甲", "乙", None], [None, None, None]], {(0, 0): (2, 1), (0, 1): (2, 2)}),
    # beside text, a null is merged across even under a cell of the same width
    ([["甲", "乙", None], ["丙", "丁", None]], {(0, 1): (1, 2), (1, 1): (1, 2)}),
    # a label merged down beside a 一级 merged down: each keeps its column
    ([["绩效指标", "产出指标", "x"], [None, None, "y"], [None, "效益指标", "z"]], {(0, 0): (3, 1), (0, 1): (2, 1)}),
])
def test_json_nulls_are_resolved_by_the_documented_rule(cells, expected):
    from jixiao.ingest.cells import merged

    assert merges(Table(rows=merged(cells), span={"start": 0, "end": 0})) == expected


def test_json_cell_shapes_and_a_text_file_of_cells(tmp_path):
    import json

    table = [["项目名称", "经费", None], ["主管部门", "街道", "甲"]]
    shapes = {"list.json": [table], "tables.json": {"tables": [table]}, "pages.json": [{"page": 3, "tables": [table]}],
              "one.json": table, "camelot.json": [[{"0": "项目名称", "1": "经费", "2": None},
                                                   {"0": "主管部门", "1": "街道", "2": "甲"}]],
              "dump.txt": [table]}
    for name, data in shapes.items():
        (tmp_path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        doc = ingest(tmp_path / name)
        assert_consistent(doc)
        assert texts(doc.tables[0]) == [["项目名称", "经费", ""], ["主管部门", "街道", "甲"]], name
        assert merges(doc.tables[0]) == {(0, 1): (1, 2)}
    assert ingest(tmp_path / "pages.json").tables[0].source == "page 3 table 1"
    (tmp_path / "plain.txt").write_text("[见附件] 项目名称\t经费\n", encoding="utf-8")
    assert ingest(tmp_path / "plain.txt").tables == []  # text that is not JSON stays text


def test_a_form_feed_is_a_line_end_with_offsets_kept():
    from jixiao.ingest import ingest_text

    doc = ingest_text("前页\f财政项目支出绩效自评表\n- 1 -\f第二页")
    assert doc.raw_text.count("\f") == 2 and "\f" not in doc.text and len(doc.text) == len(doc.raw_text)
    assert doc.text.split("\n")[1] == "财政项目支出绩效自评表"
    assert [doc.raw_text[s.start:s.end] for s in doc.furniture] == ["- 1 -"]


# --- bad files -------------------------------------------------------------------------------

def _bad_files(folder: Path) -> dict[str, type]:
    """One bad file of each kind, named by the error it must raise."""
    from openpyxl import Workbook

    from jixiao.errors import CorruptFile, EmptyDocument, EncryptedFile, UnsupportedFormat

    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    (folder / "broken.docx").write_bytes(b"PK\x03\x04 this zip ends here")
    (folder / "broken.xlsx").write_bytes(b"not a zip at all")
    (folder / "locked.xlsx").write_bytes(ole + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 512)
    (folder / "renamed.docx").write_bytes(ole + b"WordDocument".ljust(512, b"\x00"))
    Workbook().save(folder / "empty.xlsx")
    docx.Document().save(folder / "empty.docx")
    (folder / "old.doc").write_bytes(ole)
    (folder / "old.wps").write_bytes(ole + b"WPS")
    (folder / "cells.json").write_text('{"rows": 3}', encoding="utf-8")
    return {"broken.docx": CorruptFile, "broken.xlsx": CorruptFile, "locked.xlsx": EncryptedFile,
            "renamed.docx": CorruptFile, "empty.xlsx": EmptyDocument, "empty.docx": EmptyDocument,
            "old.doc": UnsupportedFormat, "old.wps": UnsupportedFormat, "cells.json": CorruptFile}


def test_bad_office_files_are_named_errors_in_both_languages(tmp_path):
    import re

    for name, error in _bad_files(tmp_path).items():
        with pytest.raises(error) as caught:
            ingest(tmp_path / name)
        message = str(caught.value)
        assert type(caught.value) is error and name in message, name
        assert re.search(r"[\u4e00-\u9fff]", message) and re.search(r" / [A-Za-z(]", message), message
    with pytest.raises(Exception, match=r"另存为 \.docx.*save it as \.docx"):
        ingest(tmp_path / "old.doc")
    with pytest.raises(Exception, match="password-protected"):
        ingest(tmp_path / "locked.xlsx")


@pytest.mark.slow
def test_a_run_over_a_folder_of_bad_files_reads_the_good_one(tmp_path, rendered):
    import shutil

    from jixiao.batch import run_batch

    folder = tmp_path / "in"
    folder.mkdir()
    bad = _bad_files(folder)
    good = rendered["docx"] / "004_eec2255c4764dfed.docx"
    shutil.copy(good, folder / good.name)
    from test_batch import run_cli, stored

    done = run_cli("run", folder, "--out", tmp_path / "out")
    assert done.returncode == 1, done.stderr
    for name in bad:
        assert name in done.stderr, name
    assert {row[0] for row in stored(tmp_path / "out")} == {good.name}
    assert run_batch([folder], tmp_path / "again").failed == len(bad)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_json_cells_with_a_number_no_cell_prints_are_refused_by_name(tmp_path, number):
    # json.loads accepts NaN and Infinity; reading them as cells crashed the whole batch.
    path = tmp_path / "cells.json"
    path.write_text(f'[[["项目名称", {number}]]]', encoding="utf-8")
    with pytest.raises(InputError, match="cells.json"):
        ingest(path)


def test_json_cells_keep_a_huge_integer_as_printed(tmp_path):
    path = tmp_path / "cells.json"
    digits = "9" * 400
    path.write_text(f'[[["项目名称", {digits}]]]', encoding="utf-8")
    doc = ingest(path)
    assert doc.tables[0].rows[0][1].text == digits
