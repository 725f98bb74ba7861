"""The review app over a run's store: queue, form page, edits with audit, approval, gold,
and its safety (escaping, CSRF, stale edits). In-process through Starlette's test client."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from starlette.testclient import TestClient

from conftest import RAW, SEEDS, review_app
from jixiao.batch import run_batch
from jixiao.ingest import ingest
from jixiao.review import Review
from jixiao.eval_runs import load_gold
from jixiao.segment import segment


@pytest.fixture
def store(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for seed in SEEDS:
        shutil.copy(seed, docs / seed.name)
    # A hostile document: its text carries markup that must stay text.
    hostile = SEEDS[0].read_text(encoding="utf-8").replace("党群综合服务", "党群<script>window.pwned=1</script>服务", 1)
    (docs / "005_hostile.txt").write_text(hostile, encoding="utf-8")
    run_batch([docs], tmp_path / "out")
    return tmp_path / "out"


def client(store):
    app = review_app(store, "张三")
    c = TestClient(app)
    token = re.search(r'name="csrf" content="([^"]+)"', c.get("/").text).group(1)
    return c, token


def test_the_queue_lists_forms_needing_review_lowest_confidence_first(store):
    review = Review(store)
    items = review.queue()
    assert items and all(i["route"] == "needs_review" or i["error"] for i in items)
    confidences = [i["confidence"] for i in items]
    assert confidences == sorted(confidences)
    assert review.queue(document="003_f9c598031c2c4aa2.txt")[0]["project_name"] == "党建经费"
    assert all(i["findings"] > 0 for i in review.queue(severity="warning"))
    c, _ = client(store)
    page = c.get("/").text
    assert page.index(items[0]["project_name"]) < page.index(items[-1]["project_name"])


def test_the_form_page_shows_the_source_with_spans_and_escapes_everything(store):
    review = Review(store)
    hostile = next(i for i in review.queue(include_done=True) if i["document"] == "005_hostile.txt")
    c, _ = client(store)
    page = c.get(f"/forms/{hostile['id']}").text
    assert "<script>window.pwned" not in page
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in page
    assert 'id="src-project_name"' in page and 'data-path="funds.total.executed"' in page


def test_a_post_without_the_csrf_token_is_refused(store):
    form_id = Review(store).queue()[0]["id"]
    c, _ = client(store)
    assert c.post(f"/forms/{form_id}", data={"action": "approve", "version": "0"}).status_code == 403
    assert c.post(f"/api/forms/{form_id}/check", json={}).status_code == 403


def test_an_edit_is_saved_audit_logged_and_rechecked(store):
    review = Review(store, "张三")
    form_id = next(i["id"] for i in review.queue() if i["project_name"] == "党群综合服务")
    c, token = client(store)
    checked = c.post(f"/api/forms/{form_id}/check", headers={"X-CSRF-Token": token},
                     json={"total_score": "95"}).json()
    assert any(f["code"] == "SE-T2" and "total_score" in f["fields"] for f in checked["findings"])
    row = review.form(form_id)[0].indicators[25]
    level1, level2 = ("产出指标", "时效指标") if row.level1 != "产出指标" else ("效益指标", "社会效益指标")
    response = c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "approve",
                                                "indicators.25.level1": level1,
                                                "indicators.25.level2": level2}, follow_redirects=False)
    assert response.status_code == 303
    form, _, version, status = review.form(form_id)
    assert (form.indicators[25].level1, form.indicators[25].level2, version, status) == (level1, level2, 1, "approved")
    log = review.audit(form_id)
    assert {(a["field"], a["before"], a["after"]) for a in log if a["action"] == "edit"} == {
        ("indicators[25].level1", f'"{row.level1}"', f'"{level1}"'),
        ("indicators[25].level2", f'"{row.level2}"', f'"{level2}"')}
    assert log[-1]["action"] == "approve" and all(a["reviewer"] == "张三" for a in log)
    assert form_id not in [i["id"] for i in review.queue()]


def test_rows_can_be_added_and_deleted(store):
    review = Review(store)
    form_id = next(i["id"] for i in review.queue() if i["project_name"] == "党建经费")
    c, token = client(store)
    before = len(review.form(form_id)[0].indicators)
    c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save", "indicators.0._delete": "on",
                                      "indicators.new.name": "新增指标", "indicators.new.target": "=1个"})
    form = review.form(form_id)[0]
    assert len(form.indicators) == before and form.indicators[-1].name == "新增指标"


def test_a_stale_edit_is_refused_not_lost(store):
    review = Review(store)
    form_id = review.queue()[0]["id"]
    c, token = client(store)
    first = c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save", "grade": "优"})
    assert first.status_code in (200, 303)
    stale = c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save", "grade": "良"})
    assert stale.status_code == 409
    assert review.form(form_id)[0].grade == "优"


def test_approved_records_become_gold_files(store, tmp_path):
    review = Review(store, "张三")
    queued: dict[str, list[dict]] = {}
    for item in review.queue():
        queued.setdefault(item["document"], []).append(item)
    forms = dict(review.store.db.execute("SELECT name, forms FROM documents"))
    # A document the run partly accepted (which one follows the routing): its queued forms
    # approved, its others went through unreviewed; and one with a form left waiting.
    document, approved = next((name, items) for name, items in sorted(queued.items()) if len(items) < forms[name])
    waiting = next(name for name in sorted(queued) if name != document)
    for item in approved:
        review.apply(item["id"], {}, "approve", 0)
    written = review.export_gold(tmp_path / "gold")
    stem = document.removesuffix(".txt")
    assert [p.name for p in written] == [f"{stem}.json"]
    gold = json.loads(written[0].read_text(encoding="utf-8"))
    assert gold["document"] == document
    records = [review.form(i)[0] for (i,) in review.store.db.execute(
        "SELECT f.id FROM forms f JOIN documents d ON d.id = f.document_id WHERE d.name = ? ORDER BY f.form_index",
        (document,))]
    assert [f["project_name"] for f in gold["forms"]] == [r.project_name for r in records]  # every form of it
    assert "source" not in gold["forms"][0] and "span" not in gold["forms"][0]["indicators"][0]
    assert [len(f["indicators"]) for f in gold["forms"]] == [len(r.indicators) for r in records]
    # each form's own source text goes beside it (what --examples shows a model), and whether a
    # reviewer approved it (the others were accepted without review)
    chunks = segment(ingest(RAW / document))
    assert [s["text"] for s in gold["sources"]] == [c.text for c in chunks]
    reviewed = {i["form_index"] for i in approved}
    assert [s["reviewed"] for s in gold["sources"]] == [i in reviewed for i in range(len(records))]
    assert False in [s["reviewed"] for s in gold["sources"]]
    assert load_gold(tmp_path / "gold")[0].forms[0].project_name == records[0].project_name  # a gold file to the eval
    # a document with a form still waiting for review: approving nothing there writes nothing for it
    assert not any(p.name == waiting.removesuffix(".txt") + ".json" for p in written)


def test_requests_for_another_host_get_nothing(store):
    c = TestClient(review_app(store, "me"))
    assert c.get("/", headers={"host": "attacker.example:8765"}).status_code == 400
    ok, token = client(store)
    form_id = Review(store).queue()[0]["id"]
    forged = ok.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "approve"},
                     headers={"origin": "http://attacker.example:8765"})
    assert forged.status_code == 403


def test_bad_values_are_refused_not_stored(store):
    review = Review(store)
    form_id = review.queue()[0]["id"]
    c, token = client(store)
    for field, value in (("funds.total.executed", "nan"), ("funds.total.executed", "inf"), ("year", "1e400"),
                         ("year", "2023.9")):
        response = c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save", field: value})
        assert response.status_code == 400, (field, value)
    assert c.post(f"/forms/{form_id}", data={"csrf": token, "action": "save"}).status_code == 400  # no version
    assert c.get("/forms/99999999999999999999").status_code == 404
    assert c.post(f"/api/forms/{form_id}/check", headers={"X-CSRF-Token": token}, json=[1]).status_code == 400
    saved = c.post(f"/forms/{form_id}", data={"csrf": token, "version": "0", "action": "save",
                                              "funds.total.score": "—"}, follow_redirects=False)
    assert saved.status_code == 303 and review.form(form_id)[0].funds.total.score is None  # — is null


def test_a_form_the_store_lacks_is_404_on_every_route(store):
    c, token = client(store)
    for missing in (999_999, 2**63 + 5):
        assert c.get(f"/forms/{missing}").status_code == 404
        assert c.post(f"/forms/{missing}", data={"csrf": token, "version": "0", "action": "save"}).status_code == 404
        answer = c.post(f"/api/forms/{missing}/check", headers={"X-CSRF-Token": token}, json={})
        assert answer.status_code == 404 and "no form" in answer.json()["error"]
        assert c.get(f"/forms/{missing}/pages/1").status_code == 404


def test_the_handlers_are_the_modules_and_testserver_is_the_tests_own(store):
    from jixiao.review import app as module

    app = module.create_app(store, "me")
    for route in app.routes:  # module-level functions, not closures made per app
        assert getattr(module, route.endpoint.__name__, None) is route.endpoint, route.path
    # TestClient's Host, `testserver`, is refused unless a test allows it (conftest.review_app).
    assert TestClient(app).get("/").status_code == 400
    assert TestClient(review_app(store, "me")).get("/").status_code == 200


def test_next_walks_the_whole_queue(store):
    review = Review(store)
    ids = [i["id"] for i in review.queue()]
    seen, current = [ids[0]], ids[0]
    for _ in range(len(ids) - 1):
        current = review.next_form(current)
        seen.append(current)
    assert sorted(seen) == sorted(ids)


def test_a_value_the_reviewer_typed_drops_its_ocr_box():
    from jixiao import extract_text
    from jixiao.review import _boxes_still_read
    from jixiao.schema import FieldBox

    form = extract_text(SEEDS[3].read_text(encoding="utf-8")).forms[0]
    box = FieldBox(page=1, unit="px", left=0, top=0, right=9, bottom=9, confidence=0.5)
    form.field_boxes = {"project_name": box, "funds.total.executed": box, "indicators[0]": box, "indicators[1]": box}
    edited = form.model_copy(deep=True)
    edited.project_name += "（改）"
    edited.indicators[0].name = "改过的指标"
    assert sorted(_boxes_still_read(form, edited)) == ["funds.total.executed", "indicators[1]"]
    edited.indicators.pop()
    assert sorted(_boxes_still_read(form, edited)) == ["funds.total.executed"]


def test_the_filters_count_only_forms_of_live_documents(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / "表.txt")
    run_batch([docs], out)
    before = Review(out).facets()
    for k in range(2):  # two new versions of the file: two superseded documents of one name
        with (docs / "表.txt").open("a", encoding="utf-8") as f:
            f.write(f"\n<!-- {k} -->\n")
        run_batch([docs], out)
    facets = Review(out).facets()
    assert facets == before
    assert dict(facets["documents"]) == {"表.txt": len(Review(out).queue(document="表.txt", include_done=True))}
