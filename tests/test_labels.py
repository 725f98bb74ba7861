"""One table of Chinese field labels (schema.FIELD_LABELS, FUND_ROW_LABELS): the review page,
the exports and the findings name a field alike."""

from __future__ import annotations

import csv

from starlette.testclient import TestClient

from conftest import RAW, review_app
from jixiao.batch import run_batch
from jixiao.export import export
from jixiao.schema import (FIELD_LABELS, FORM_FIELDS, FUND_ROW_LABELS, ROW_FIELDS, DeclarationFunds, FundRow,
                           SelfEvaluationFunds, field_label)
from jixiao.store import Store
from jixiao.validate.swaps import _swap_finding


def test_every_format_field_has_its_label():
    fields = {f for kind in FORM_FIELDS for f in (*FORM_FIELDS[kind], *ROW_FIELDS[kind])} | set(FundRow.model_fields)
    assert fields <= set(FIELD_LABELS)
    assert {*SelfEvaluationFunds.model_fields, *DeclarationFunds.model_fields} <= set(FUND_ROW_LABELS)
    assert field_label("funds.total.executed") == "全年执行数" and field_label("indicators[3].name") == "三级指标"
    assert field_label("funds.annual_other") != field_label("funds.project_other")  # printed twice: told apart


def test_the_review_page_the_export_and_a_finding_name_a_field_alike(tmp_path):
    run_batch([RAW], tmp_path / "out")
    store = Store(tmp_path / "out")
    try:
        ids = dict(store.db.execute("SELECT kind, MIN(id) FROM forms GROUP BY kind").fetchall())
    finally:
        store.close()
    client = TestClient(review_app(tmp_path / "out"))
    pages = {kind: client.get(f"/forms/{form_id}").text for kind, form_id in ids.items()}
    for kind, page in pages.items():
        for field in (*FORM_FIELDS[kind], *ROW_FIELDS[kind]):
            if field != "kind":
                assert f">{FIELD_LABELS[field]}<" in page, (kind, field)
    for row in DeclarationFunds.model_fields:
        assert f"{FUND_ROW_LABELS[row]}<" in pages["target_declaration"], row
    # A total's first part is shown as the form prints it, 其中： ("of which"): a reviewer adds
    # the rows below a total up to it, not to each other.
    assert ">其中：当年财政拨款<" in pages["self_evaluation"]
    assert ">其中：财政资金<" in pages["target_declaration"] and ">其中：当年财政拨款<" in pages["target_declaration"]
    folder = export(tmp_path / "out", "csv", tmp_path / "csv")[0].parent
    with (folder / "forms.csv").open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert {FIELD_LABELS["total_weight"], FIELD_LABELS["total_score"], FIELD_LABELS["project_name"]} <= set(header)
    with (folder / "funds.csv").open(encoding="utf-8-sig") as f:
        named = {row[3] for row in csv.reader(f)}
    assert FUND_ROW_LABELS["project_other"] in named
    swap = _swap_finding("total_weight", "total_score", 97.55, 100.0)
    assert FIELD_LABELS["total_weight"] in swap.message and FIELD_LABELS["total_score"] in swap.message


def test_funds_csv_names_a_declarations_annual_rows_as_a_self_evaluations(tmp_path):
    # funds.csv's row names are values others select by: a declaration's annual rows keep the
    # names of the self-evaluation's rows they match (当年财政拨款, 上年结转资金, 其他资金), and
    # only its project-level 其他资金 is marked, as the export named them before the label table.
    run_batch([RAW], tmp_path / "out")
    folder = export(tmp_path / "out", "csv", tmp_path / "csv")[0].parent
    by_form: dict[tuple[str, str], list[str]] = {}
    with (folder / "funds.csv").open(encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            by_form.setdefault((row["文档"], row["表序号"]), []).append(row["资金行"])
    self_evaluation = next(names for names in by_form.values() if len(names) == len(SelfEvaluationFunds.model_fields))
    declaration = next(names for names in by_form.values() if len(names) == len(DeclarationFunds.model_fields))
    assert declaration[-3:] == self_evaluation[-3:] == ["当年财政拨款", "上年结转资金", "其他资金"]
    assert declaration[2] == "其他资金(项目)"
