"""Forms found without their title (issue 13, item 4): a table-only extract, a title cropped from
a scan. A form is recognised by its body (项目名称 followed by 主管部门/实施单位/项目资金) and its kind
by its columns; it carries a `no_title` note, so it is never accepted unread. A title, where
there is one, stays the primary cut."""

from __future__ import annotations

import json
import sys

import pytest

from conftest import GOLD, RAW, ROOT
from jixiao.evaluate import evaluate
from jixiao.ingest import ingest_text
from jixiao.ingest.cells import cells_doc, tables_of
from jixiao.pipeline import extract_source
from jixiao.eval_runs import load_gold
from jixiao.segment import segment

sys.path.insert(0, str(ROOT / "evals"))
import formats  # noqa: E402

GOLDS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLD.glob("*.json"))}


def _untitled(stem: str) -> str:
    text = (RAW / f"{stem}.txt").read_text(encoding="utf-8")
    return "\n".join(line for line in text.split("\n") if "财政项目支出绩效" not in line)


@pytest.mark.parametrize("stem", sorted(GOLDS))
def test_a_seed_without_its_title_lines_keeps_every_form_and_kind(stem):
    chunks = segment(ingest_text(_untitled(stem), name=f"{stem}.txt"))
    assert [c.kind for c in chunks] == [f["kind"] for f in GOLDS[stem]["forms"]]
    for c in chunks:
        assert [n.code for n in c.notes] == ["no_title"]
        assert "项目名称" in c.text[:200]


@pytest.mark.slow
def test_title_less_seeds_read_as_well_as_titled_and_all_go_to_review():
    records = [extract_source(ingest_text(_untitled(stem), name=GOLDS[stem]["document"])) for stem in GOLDS]
    report = evaluate(load_gold(GOLD), records)
    assert report.form_recall == 1.0 and report.form_precision == 1.0
    # the year is printed beside the title: a form whose year line went with it has no year
    assert not [m for m in report.misses if m.field not in ("year",) and "level" not in m.field]
    forms = [f for r in records for f in r.forms]
    assert all(any(n.code == "no_title" for n in f.notes) for f in forms)
    assert all(f.route.decision == "needs_review" for f in forms)
    assert all(f.field_confidence["kind"] < 0.8 for f in forms)


@pytest.mark.slow
def test_json_cells_without_the_title_row():
    records = []
    for stem, gold in GOLDS.items():
        tables = [t[1:] for t in formats.json_cells(formats.document_grids(gold, RAW / gold["document"]))]
        records.append(extract_source(cells_doc(tables_of(tables), name=gold["document"])))
    report = evaluate(load_gold(GOLD), records)
    assert report.form_recall == 1.0 and report.form_precision == 1.0
    assert {m.field for m in report.misses} <= {"year"}
    kinds = [f.kind for r in records for f in r.forms]
    assert kinds == [f["kind"] for g in GOLDS.values() for f in g["forms"]]
    assert all(f.route.decision == "needs_review" for r in records for f in r.forms)


def test_a_title_stays_the_primary_cut():
    text = (RAW / "003_f9c598031c2c4aa2.txt").read_text(encoding="utf-8")
    titled = segment(ingest_text(text))
    assert all(not c.notes for c in titled)
    # the first form's title cropped, the rest kept: one body-only form, then the titled ones
    first = text.index("财政项目支出绩效")
    cropped = text[:first] + text[first:].replace("财政项目支出绩效目标申报表", "", 1)
    chunks = segment(ingest_text(cropped))
    assert [bool(c.notes) for c in chunks] == [True, False, False]


def test_kind_by_columns():
    se = "项目名称\t甲\n主管部门\t乙\n项目资金（元）\n一级指标\t二级指标\t三级指标\t年度指标值\t实际完成值\t分值\t得分\n"
    td = "项目名称\t甲\n主管部门\t乙\n项目资金（元）\n一级指标\t二级指标\t三级指标\t年度指标值\n"
    assert segment(ingest_text(se))[0].kind == "self_evaluation"
    assert segment(ingest_text(td))[0].kind == "target_declaration"


def test_a_lone_project_name_is_not_a_form():
    from jixiao.errors import SegmentationError

    with pytest.raises(SegmentationError, match="no form"):
        segment(ingest_text("项目名称：某某\n会议纪要\n"))


DECLARATION = "003_f9c598031c2c4aa2"


def _year_notes(form):
    return [n.code for n in form.notes if n.field == "year"]


def test_a_declaration_without_its_title_takes_the_year_its_plan_falls_in_noted():
    # The 年度 is printed beside the title; without it, a declaration's planned dates give it.
    text = "\n".join(line for line in _untitled(DECLARATION).split("\n") if "年度)" not in line)
    forms = extract_source(ingest_text(text, name="d.txt")).forms
    assert [f.year for f in forms] == [2024] * 3
    assert all(_year_notes(f) == ["year_from_plan"] and f.field_confidence["year"] < 0.9 for f in forms)
    # A plan over several years names no one year: left blank, as before.
    spanning = extract_source(ingest_text(text.replace("2024-12-31", "2026-12-31"), name="d.txt")).forms
    assert all(f.year is None and _year_notes(f) == ["not_found"] for f in spanning)


def test_json_cells_of_a_declaration_take_the_year_of_its_plan_and_a_self_evaluation_none():
    for stem, year in ((DECLARATION, 2024), ("004_eec2255c4764dfed", None)):
        gold = GOLDS[stem]
        tables = [t[1:] for t in formats.json_cells(formats.document_grids(gold, RAW / gold["document"]))]
        forms = extract_source(cells_doc(tables_of(tables), name=gold["document"])).forms
        assert {f.year for f in forms} == {year}
        assert {tuple(_year_notes(f)) for f in forms} == {("year_from_plan",) if year else ("not_found",)}
