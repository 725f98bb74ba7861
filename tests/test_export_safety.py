"""Exports hold values, never formulas: the XLSX writes every string as text (the seeds' `=28人`
cells, a project name `=HYPERLINK(...)`), the CSV neutralises a cell that would start a formula
(OWASP's rule: a leading ', full-width ＝ ＋ － ＠ too) and leaves numbers alone; removing one leading ' undoes it."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile

import pytest
from openpyxl import load_workbook

from conftest import SEEDS
from jixiao.batch import run_batch
from jixiao.export import export

LINK = '=HYPERLINK("http://example.invalid/?"&A1,"点击")'
# indicator (target, actual) cells a hostile document prints, in place of the seed's
HOSTILE_CELLS = {"=50人 =50人 2 2": ("@SUM(A1)", "-2+3+cmd|'/Ccalc'!A0"), "=4次 =4次 2 2": ("+1+1", "#N/A"),
                 "=10次 =8次 1 0": ("'quoted", "-5"),
                 # full-width operators, which spreadsheets in CJK locales may read as = + - @
                 "=5次 =5次 2 2": ("＝1+1", "＋CMD|'/Ccalc'!A0"), "=2个 =2个 2 2": ("－2+3", "＠SUM(A1)")}
FULL_WIDTH = ("＝", "＋", "－", "＠")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    docs = tmp / "docs"
    docs.mkdir()
    for seed in SEEDS:
        shutil.copy(seed, docs / seed.name)
    text = SEEDS[0].read_text(encoding="utf-8").replace("党群综合服务", LINK, 1)
    text = text.replace("上年结转资金 0 0 —", "上年结转资金 -5 -5 —", 1)
    text = text.replace("社区自治管理", "社区\x01自治管理", 1)  # a control character, which XLSX cannot hold
    for printed, (target, actual) in HOSTILE_CELLS.items():
        assert printed in text
        text = text.replace(printed, f"{target} {actual} {printed.split(' ', 2)[2]}", 1)
    (docs / "009_hostile.txt").write_text(text, encoding="utf-8")
    run_batch([docs], tmp / "out")
    export(tmp / "out", "xlsx", tmp / "all.xlsx")
    export(tmp / "out", "csv", tmp / "csv")
    return tmp


def _csv(tmp, table):
    with (tmp / "csv" / f"{table}.csv").open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.mark.slow
def test_the_xlsx_holds_no_formula_and_no_error_cell(exported):
    with zipfile.ZipFile(exported / "all.xlsx") as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert sheets and not any(re.search(r"<f[ >]", xml) for xml in sheets)
    assert not any('t="e"' in xml for xml in sheets)
    book = load_workbook(exported / "all.xlsx")
    assert all(cell.data_type not in ("f", "e") for sheet in book for row in sheet.iter_rows() for cell in row)
    forms = list(book["forms"].values)
    assert sum(row[4] == LINK for row in forms) == 1  # the project name, as printed
    assert "社区\ufffd自治管理" in [row[4] for row in forms]  # shown as U+FFFD, not a failed export
    assert not any(cell.hyperlink for sheet in book for row in sheet.iter_rows() for cell in row)
    indicators = list(book["indicators"].values)
    cells = [v for row in indicators[1:] for v in row[7:9]]
    assert sum(isinstance(v, str) and v.startswith("=") for v in cells) >= 80  # the seeds' `=28人`, `=100.00(%)`
    assert "=28人" in cells and "=100%" in cells
    for target, actual in HOSTILE_CELLS.values():
        assert (target, actual) in [row[7:9] for row in indicators]
    # and a cell edited in Excel stays text: it is marked quote-prefixed
    sheet = book["indicators"]
    assert all(c.quotePrefix for row in sheet.iter_rows(min_row=2) for c in row
               if isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@", *FULL_WIDTH)))


def test_the_csv_neutralises_formula_leading_cells_and_keeps_numbers(exported):
    plain_number = re.compile(r"[+-]?(?:[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)%?")
    book = load_workbook(exported / "all.xlsx")
    for table in ("forms", "funds", "indicators", "findings"):
        rows = _csv(exported, table)
        for row in rows:
            for cell in row:
                assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", *FULL_WIDTH)) or \
                    plain_number.fullmatch(cell), cell
        # removing one leading ' gives back every value the XLSX holds, numbers as numbers
        values = list(book[table].values)
        assert len(values) == len(rows)
        for csv_row, xlsx_row in zip(rows, values):
            for cell, value in zip(csv_row, xlsx_row):
                if isinstance(value, str):
                    assert (cell[1:] if cell.startswith("'") else cell).replace("\x01", "\ufffd") == value
                elif value is not None:
                    assert float(cell) == value
    forms = _csv(exported, "forms")
    assert "'" + LINK in [row[4] for row in forms] and "社区\x01自治管理" in [row[4] for row in forms]
    funds = _csv(exported, "funds")
    assert ["-5.0", "-5.0"] in [row[4:6] for row in funds if row[3] == "上年结转资金"]  # numbers stay numbers
    indicators = [row[7:9] for row in _csv(exported, "indicators")]
    assert ["'@SUM(A1)", "'-2+3+cmd|'/Ccalc'!A0"] in indicators
    assert ["'+1+1", "#N/A"] in indicators
    assert ["''quoted", "-5"] in indicators  # a leading ' is doubled (so the undo is exact); "-5" is a number
    assert ["'=28人", "'=28人"] in indicators
    assert ["'＝1+1", "'＋CMD|'/Ccalc'!A0"] in indicators and ["'－2+3", "'＠SUM(A1)"] in indicators
