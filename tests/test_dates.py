"""Dates as ISO YYYY-MM-DD whatever the form prints (issue 13, item 6; FORMAT.md), in the text
reader, the grid reader and the LLM's answer model; a month-only date kept as printed; and a
normalised date still counts as found in its source (confidence does not fall for it)."""

from __future__ import annotations

import pytest

from jixiao.dates import iso_date, plan_year
from jixiao.ingest import ingest_text
from jixiao.pipeline import extract_source
from jixiao.schema import TargetDeclaration, answer_model
from conftest import RAW


@pytest.mark.parametrize("printed, iso", [
    ("2026/1/1", "2026-01-01"), ("2026年1月1日", "2026-01-01"), ("2026.01.01", "2026-01-01"),
    ("2026-1-1", "2026-01-01"), ("2026 年 12 月 31 日", "2026-12-31"), ("２０２６／１／１", "2026-01-01"),
    ("2026-12-31", "2026-12-31"),
])
def test_iso_date(printed, iso):
    assert iso_date(printed) == iso


@pytest.mark.parametrize("printed", ["2026年1月", "2026-02-30", "全年", "", None])
def test_what_is_not_a_full_date_is_kept_as_printed(printed):
    assert iso_date(printed) == printed


@pytest.mark.parametrize("printed", ["2024/1/1", "2024年1月1日", "2024.01.01"])
def test_the_text_reader_records_iso_dates_and_stays_sure_of_them(printed):
    text = (RAW / "003_f9c598031c2c4aa2.txt").read_text(encoding="utf-8").replace("2024-01-01", printed)
    form = extract_source(ingest_text(text)).forms[0]
    assert form.planned_start == "2024-01-01" and form.planned_end == "2024-12-31"
    assert form.field_confidence["planned_start"] == form.field_confidence["planned_end"]


def test_the_grid_reader_records_iso_dates():
    import json
    import sys

    from conftest import GOLD, ROOT
    from jixiao.ingest.cells import cells_doc, tables_of

    sys.path.insert(0, str(ROOT / "evals"))
    import formats

    gold = json.loads((GOLD / "003_f9c598031c2c4aa2.json").read_text(encoding="utf-8"))
    table = formats.json_cells(formats.document_grids(gold, RAW / gold["document"]))[0]
    row = next(r for r in table if r[0] == "计划开始日期")
    row[1], row[3] = "2024年1月1日", "2024/12/31"
    form = extract_source(cells_doc(tables_of([table]))).forms[0]
    assert (form.planned_start, form.planned_end) == ("2024-01-01", "2024-12-31")
    assert form.field_confidence["planned_start"] == form.field_confidence["planned_end"] > 0.9


def test_the_llm_answer_model_normalises_dates():
    answer = answer_model(TargetDeclaration).model_validate({"planned_start": "2026/1/1", "planned_end": "2026年3月"})
    assert (answer.planned_start, answer.planned_end) == ("2026-01-01", "2026年3月")


@pytest.mark.parametrize("start, end, year", [
    ("2024-01-01", "2024-12-31", 2024), ("2024-03-15", "2024-06-30", 2024),
    ("2024-01-01", "2026-12-31", None),  # a project over several years: no one year
    ("2024年1月", "2024-12-31", None), ("2024-02-30", "2024-12-31", None), (None, "2024-12-31", None),
])
def test_the_year_a_plan_falls_in(start, end, year):
    assert plan_year(start, end) == year
