"""Ruled tables of a PDF's text layer and of a scan handed over as cells (issue 13 item 1): a
cell per ruled cell, a merged cell (no rule inside it) one cell with its rowspan/colspan, the
cells' spans in the document's text; forms printed like the templates (evals/formats.py
`write_pdf`: merged 一级/二级 cells, their labels at the middle of their rows) read from those
cells by the grid reader, each field keeping its page and box."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import GOLD, ROOT
from jixiao import extract_document
from jixiao.evaluate import evaluate
from jixiao.ingest import ingest
from jixiao.eval_runs import load_gold

sys.path.insert(0, str(ROOT / "evals"))
import formats  # noqa: E402
from formats import Cell, Grid  # noqa: E402

WRAPPED = "举办基层党建大型活动场次（含区域化党建联建共建单位联合举办的主题党日活动与专题讲座）"


def _indicator_grid() -> Grid:
    """A declaration's indicator table: 绩效指标 down the side, 一级 merged down four rows, each
    二级 down two (质量指标's label standing on the rule between its rows, as printed for the
    cells beside it), a 指标值 too long for its column (wrapped), a last row of two cells across
    the columns. The rules under rows of one 二级 group run only under 三级 and 指标值: less than
    half the page's width."""
    cells = [[Cell("绩效指标", rows=5), Cell("一级指标"), Cell("二级指标"), Cell("三级指标"), Cell("指标值", cols=2), None],
             [None, Cell("产出指标", rows=4), Cell("数量指标", rows=2), Cell("举办大型活动场次"), Cell(WRAPPED, cols=2), None],
             [None, None, None, Cell("举办小型活动场次"), Cell("≥4次", cols=2), None],
             [None, None, Cell("质量指标", rows=2), Cell("活动完成率"), Cell("=100%", cols=2), None],
             [None, None, None, Cell("设施完好率"), Cell("=100%", cols=2), None],
             [Cell("备注", cols=3), None, None, Cell("无", cols=3), None, None]]
    return Grid("", "", cells)


def _check_merges(doc) -> None:
    (table,) = doc.tables
    cells = {cell.text: (r, c, cell) for r, row in enumerate(table.rows) for c, cell in enumerate(row) if cell.text}
    assert len(table.rows) == 6 and len(table.rows[0]) == 5  # 指标值's two columns print as one
    spans = {text: (r, c, cell.rowspan, cell.colspan) for text, (r, c, cell) in cells.items()}
    assert spans["绩效指标"] == (0, 0, 5, 1) and spans["产出指标"] == (1, 1, 4, 1)
    assert spans["数量指标"] == (1, 2, 2, 1) and spans["质量指标"] == (3, 2, 2, 1)
    assert [table.rows[k][1].merged_into for k in (2, 3, 4)] == [(1, 1)] * 3
    assert table.rows[4][2].merged_into == (3, 2)
    assert spans["备注"] == (5, 0, 1, 3) and spans["无"] == (5, 3, 1, 2) and table.rows[5][4].merged_into == (5, 3)
    assert [spans[name][:2] for name in ("举办小型活动场次", "活动完成率", "设施完好率")] == [(2, 3), (3, 3), (4, 3)]
    # The long 指标值's wrapped lines: one cell, joined (OCR may read its closing ） as ")").
    assert table.rows[1][4].text.rstrip(")）") == WRAPPED.rstrip("）")
    for _, _, cell in cells.values():  # every cell's text stands where its span says
        assert doc.text[cell.span.start:cell.span.end] == cell.text
    # The text stays one line per ruled row; a label standing on a rule is printed once.
    assert doc.text.count("质量指标") == 1 and len(doc.text.strip().splitlines()) == 6


def test_a_pdf_ruled_table_is_handed_over_as_cells_with_its_merges(tmp_path):
    pdf = formats.write_pdf([_indicator_grid()], tmp_path / "table.pdf")
    doc = ingest(pdf)
    _check_merges(doc)
    assert doc.tables[0].source == "page 1"


@pytest.mark.slow
def test_a_scanned_ruled_table_is_handed_over_as_cells_with_its_merges(tmp_path):
    pytest.importorskip("rapidocr_onnxruntime")
    pdf = formats.write_pdf([_indicator_grid()], tmp_path / "table.pdf")
    _check_merges(ingest(formats.write_scan(pdf, tmp_path / "table.tif")))


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The seeds' gold printed like the templates, read back."""
    return formats.render(tmp_path_factory.mktemp("printed"), ("pdf",))["pdf"]


@pytest.mark.slow
def test_printed_forms_are_read_from_their_cells(printed):
    golds = load_gold(GOLD)
    records = [extract_document(printed / f"{Path(gold.document).stem}.pdf") for gold in golds]
    report = evaluate(golds, records)
    print(f"\nprinted forms, read from their cells: field accuracy {report.overall:.4f}, rows {report.row_recall:.3f}")
    # The merged 一级/二级 labels printed at the middle of their rows land on every row they cover.
    assert report.form_recall == 1.0 and report.row_recall == 1.0 and report.overall >= 0.995
    wrong = {(Path(m.document).stem, m.form) for m in report.misses}
    accepted = [(Path(r.document).stem, f.project_name) for r in records for f in r.forms
                if f.route.decision == "accepted"]
    assert accepted and not wrong & set(accepted)
    # A table going on over the next page: the continuation's blank label cells carry the group.
    long_form = records[0].forms[0]
    assert any(n.code == "after_break" for n in long_form.notes)
    # Every field read from a cell keeps its page and box on it.
    for form in (f for r in records for f in r.forms):
        for path in ("project_name", "indicators[0]", "indicators[0].name", "amount_unit"):
            box = form.field_boxes[path]
            assert box.unit == "pt" and box.page >= 1 and box.right > box.left and box.bottom > box.top


def test_a_page_ruled_as_a_dense_grid_is_not_handed_over_as_cells():
    from jixiao.ingest.pdf import Band
    from jixiao.ingest.ruled import MAX_CELLS, ruled_tables

    def page(rows: int, cols: int):
        edges = [10.0 * c for c in range(cols + 1)]
        bands = [Band(-10.0 * (r + 1), -10.0 * r, edges) for r in range(rows)]
        cells = {r: [(0, "1")] + [(0, "")] * (cols - 1) for r in range(rows)}
        rules = [(-10.0 * r, 0.0, edges[-1]) for r in range(rows + 1)]
        return ruled_tables(bands, cells, rules)

    assert len(page(40, 10)) == 1  # a form's size
    # Squared paper (or a hostile file): a cell object per position would cost memory and time;
    # its text is still read.
    assert page(MAX_CELLS // 100 + 1, 100) == []
