"""Forms read from pdfplumber's real `extract_tables()` cells (issue 13): the scan set's text-layer
PDFs of three seeds (`evals/scanset.py`) read by pdfplumber as `evals/extractors.py` does, then
by jixiao's JSON-cells reader and the grid reader. These cells are what users get: no title or
year (they are printed outside the table), one table per page with forms cut over pages, wrapped
text with `\\n` in cells, empty cells where a merge crosses other rows' rules, rows shifted
against their headers. Guards: every form found, the accuracy reached, and no form routed
accepted with a wrong field, title-less as printed and with each form's title row put back."""

from __future__ import annotations

import copy
import json
import sys

import pytest

from conftest import GOLD, ROOT, SEEDS
from jixiao.errors import EmptyDocument
from jixiao.evaluate import evaluate
from jixiao.ingest import ingest
from jixiao.ingest.cells import cells_doc, tables_of
from jixiao.pipeline import extract_source
from jixiao.eval_runs import load_gold
from jixiao.segment import segment

sys.path.insert(0, str(ROOT / "evals"))
from scanset import build  # noqa: E402

pytestmark = pytest.mark.slow  # every test here takes seconds, or shares a fixture that does

STEMS = ("002", "003", "004")  # 001 prints no ruled table: pdfplumber finds none (see the last test)
FLOOR = 0.99  # reached: 0.9925; the misses are self-evaluations' years (printed above the tables, not in them)
GOLDS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLD.glob("*.json")) if p.stem[:3] in STEMS}
TITLES = {"self_evaluation": "财政项目支出绩效自评表", "target_declaration": "财政项目支出绩效目标申报表"}


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, list]:
    pdfplumber = pytest.importorskip("pdfplumber")
    out = tmp_path_factory.mktemp("plumber")
    pdfs = build(out, [s for s in SEEDS if s.name[:3] in STEMS], ("text-pdf",))["text-pdf"]
    found = {}
    for stem in GOLDS:
        with pdfplumber.open(pdfs / f"{stem}.pdf") as doc:
            found[stem] = [table for page in doc.pages for table in page.extract_tables()]
    return found


def _read(tables: dict[str, list]):
    records = [extract_source(cells_doc(tables_of(t), GOLDS[stem]["document"])) for stem, t in tables.items()]
    gold = [d for d in load_gold(GOLD) if d.document[:3] in STEMS]
    report = evaluate(gold, records)
    wrong = {(m.document, m.form) for m in report.misses}
    accepted = [(r.document, f.project_name) for r in records for f in r.forms if f.route.decision == "accepted"]
    return records, report, [a for a in accepted if a in wrong]


def test_pdfplumber_tables_read_every_form_to_the_floor(tables):
    records, report, accepted_wrong = _read(tables)
    print(f"\npdfplumber tables: forms {report.form_recall:.3f} fields {report.overall:.4f} "
          f"({report.fields_right}/{report.fields_total})")
    assert report.form_recall == 1.0 and report.form_precision == 1.0
    assert [f.kind for r in records for f in r.forms] == [f["kind"] for g in GOLDS.values() for f in g["forms"]]
    assert report.overall >= FLOOR, [(m.document[:3], m.field, m.gold, m.predicted) for m in report.misses][:12]
    assert not accepted_wrong
    # What is still missed: a self-evaluation's year (printed above the table, so not in these
    # cells; a declaration's comes from its planned dates), and any label placed by a guess the
    # form says it made.
    forms = {(r.document, f.project_name): f for r in records for f in r.forms}
    for m in report.misses:
        if m.field == "year":
            assert m.predicted is None
            continue
        assert m.field.endswith((".level1", ".level2")), (m.document[:3], m.field, m.gold, m.predicted)
        row = m.field.rsplit(".", 1)[0]
        assert any(n.field == row and n.code == "level_ambiguous" for n in forms[(m.document, m.form)].notes)
    assert all(f.route.decision == "needs_review" for f in forms.values())  # no title: reviewed


def test_a_form_cut_over_pages_keeps_its_tables_and_its_texts(tables):
    doc = cells_doc(tables_of(tables["002_0bebddbd16c8cbfb"]), "002.json")
    chunks = segment(doc)
    assert len(chunks) == 7 and max(len(c.tables) for c in chunks) > 1
    form = extract_source(doc).forms[2]
    gold = GOLDS["002_0bebddbd16c8cbfb"]["forms"][2]
    assert form.project_name == gold["project_name"]
    # the goals' header row ends page 1; their texts run on over the next page's tables
    assert "".join(form.goal_actual.split()) == "".join(gold["goal_actual"].split())
    assert "".join(form.goal_expected.split()) == "".join(gold["goal_expected"].split())


def test_with_each_title_row_put_back_no_accepted_form_is_wrong(tables):
    titled = copy.deepcopy(tables)
    for stem, found in titled.items():
        forms = iter(GOLDS[stem]["forms"])
        for table in found:
            if table[0][0] == "项目名称":
                form = next(forms)
                table.insert(0, [f"{TITLES[form['kind']]}\n({form['year']}年度)", *[None] * (len(table[0]) - 1)])
    records, report, accepted_wrong = _read(titled)
    assert report.form_recall == 1.0 and report.overall >= FLOOR + 0.005  # the years are read now
    assert any(f.route.decision == "accepted" for r in records for f in r.forms)
    assert not accepted_wrong


def test_no_tables_at_all_is_a_named_error(tmp_path):
    path = tmp_path / "001.json"
    path.write_text("[]", encoding="utf-8")  # pdfplumber on a form printed without rules
    with pytest.raises(EmptyDocument, match="no tables"):
        ingest(path)
