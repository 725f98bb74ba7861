"""Review of a PDF or a scan with its page in view, the reasons a form is in review as a
person reads them, and the queue as a work list (issue 16). In-process through Starlette's
test client; the browser side is in test_review_browser.py."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys

import pypdfium2 as pdfium
import pytest
from PIL import Image
from starlette.testclient import TestClient

from conftest import ROOT, SEEDS, read_partly, review_app
from jixiao.batch import run_batch
from jixiao.review.explain import doubts, place_label, place_of
from jixiao.review.worklist import printed_errors_only
from jixiao.ingest.pdf import pdf_pages, text_boxes
from jixiao.review.pages import page_png
from jixiao.review import Review
from jixiao.schema import Route
from jixiao.store import content_hash

sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402

SEED = next(s for s in SEEDS if s.name.startswith("003"))  # one form in review (党建经费), four pages


@pytest.fixture(scope="module")
def pdf_store(tmp_path_factory):
    """Seed 003 printed as a PDF with a text layer (evals/scanset.py), read by a batch."""
    tmp = tmp_path_factory.mktemp("pdf")
    (tmp / "docs").mkdir()
    pdf = scanset.write_pdf(scanset.seed_pages(SEED), tmp / "docs" / f"{SEED.stem}.pdf")
    run_batch([tmp / "docs"], tmp / "out")
    return tmp / "out", pdf


def client(store, **kwargs):
    c = TestClient(review_app(store, "张三", **kwargs))
    token = re.search(r'name="csrf" content="([^"]+)"', c.get("/").text)
    return c, token.group(1) if token else None


def _in_review(store) -> int:
    return next(i["id"] for i in Review(store).queue() if i["project_name"] == "党建经费")


def _ink(image: Image.Image, box: dict) -> float:
    """The share of dark pixels inside a box of the page image."""
    crop = image.convert("L").crop((box["left"], box["top"], box["left"] + box["width"], box["top"] + box["height"]))
    counts = crop.histogram()
    return sum(counts[:128]) / max(1, sum(counts))


@pytest.mark.slow
def test_a_pdf_form_shows_its_pages_with_every_box_on_its_printed_text(pdf_store):
    store, pdf = pdf_store
    form_id = _in_review(store)
    c, _ = client(store)
    html = c.get(f"/forms/{form_id}").text
    pages = json.loads(re.search(r'<script id="pages" type="application/json">([^<]*)</script>', html).group(1))
    boxes = json.loads(re.search(r'<script id="boxes" type="application/json">([^<]*)</script>', html).group(1))
    assert pages and pages == list(range(pages[0], pages[-1] + 1)) and 'id="page-img"' in html
    assert str(pdf.parent) not in html  # no file path in the page, nor in any URL on it
    drawn = {}
    for n in pages:
        answer = c.get(f"/forms/{form_id}/pages/{n}")
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
        drawn[n] = Image.open(io.BytesIO(answer.content))
    # Each box, scaled from points to the image's pixels, sits on printed text: ink inside it.
    on_pages = [b for b in boxes if b["page"] in drawn]
    assert len(on_pages) == len(boxes) > 20
    inked = [b["path"] for b in on_pages if _ink(drawn[b["page"]], b) > 0.02]
    assert len(inked) == len(on_pages), sorted({b["path"] for b in on_pages} - set(inked))[:5]
    # ... and boxes moved by a quarter of the page's width would not be (the test can fail).
    moved = [dict(b, left=b["left"] + drawn[b["page"]].width / 4) for b in on_pages
             if b["left"] + b["width"] + drawn[b["page"]].width / 4 < drawn[b["page"]].width]
    assert sum(_ink(drawn[b["page"]], b) > 0.02 for b in moved) < len(moved)
    # The rows and cells in doubt or in findings are marked for the page to show apart.
    assert any(b["low"] for b in boxes) and not all(b["low"] for b in boxes)
    assert list((store / "pages").rglob("*.png"))  # cached in the run's folder


@pytest.mark.slow
@pytest.mark.parametrize("how", ["cropped", "turned", "overcropped"])
def test_boxes_land_on_their_text_on_a_cropped_or_turned_pdf_page(tmp_path, how):
    """A page with a crop box away from the origin, or stored on its side with /Rotate 90, is
    drawn as a viewer shows it; its text is read, and its boxes placed, as shown."""
    plain = scanset.write_pdf(scanset.seed_pages(SEED)[:1], tmp_path / "plain.pdf")
    pdf = scanset.write_pdf(scanset.seed_pages(SEED)[:1], tmp_path / f"{how}.pdf", turned=how == "turned")
    if how != "turned":  # margins trimmed off: the page shown starts 15 pt in
        document = pdfium.PdfDocument(pdf.read_bytes())
        left, bottom, right, top = document[0].get_mediabox()
        if how == "cropped":
            document[0].set_cropbox(left + 15, bottom + 15, right - 8, top - 8)
        else:  # by the media box, under a crop box reaching beyond it (only their overlap is shown)
            document[0].set_mediabox(left + 15, bottom + 15, right, top)
            document[0].set_cropbox(left - 30, bottom - 30, right + 40, top + 40)
        document.save(str(pdf))
        document.close()
    pages = pdf_pages(pdf)
    assert pages[0].text == pdf_pages(plain)[0].text  # read upright, as printed
    image = Image.open(io.BytesIO(page_png(tmp_path / "run", pdf, content_hash(pdf), 1)))
    boxes = [{"left": b.left * 2, "top": b.top * 2, "width": (b.right - b.left) * 2, "height": (b.bottom - b.top) * 2}
             for b in text_boxes(pages)]
    assert len(boxes) > 20 and all(b["left"] >= 0 and b["top"] >= 0 and b["left"] + b["width"] <= image.width
                                   and b["top"] + b["height"] <= image.height for b in boxes)
    assert all(_ink(image, b) > 0.02 for b in boxes)


def test_a_page_is_served_only_for_its_form_and_never_from_a_changed_file(pdf_store, tmp_path):
    store, pdf = pdf_store
    copy = tmp_path / "out"
    shutil.copytree(store, copy)
    shutil.rmtree(copy / "pages", ignore_errors=True)
    form_id = _in_review(copy)
    c, _ = client(copy)
    pages = Review(copy).pages(form_id)
    assert c.get(f"/forms/{form_id}/pages/{pages[-1] + 1}").status_code == 404
    assert c.get(f"/forms/{form_id}/pages/0").status_code == 404
    assert c.get(f"/forms/{2**63 + 5}/pages/1").status_code == 404
    # The file changed on disk since it was read: its boxes belong to the old pages.
    saved = pdf.read_bytes()
    try:
        pdf.write_bytes(saved + b"\n%changed\n")
        refused = c.get(f"/forms/{form_id}/pages/{pages[0]}")
        assert refused.status_code == 404 and "改动" in refused.text and "changed" in refused.text
        assert str(pdf.parent) not in refused.text
    finally:
        pdf.write_bytes(saved)
    # A run folder the app cannot write to (here `pages` is a file): the page is served uncached.
    (copy / "pages").write_text("not a folder")
    assert c.get(f"/forms/{form_id}/pages/{pages[0]}").status_code == 200


@pytest.mark.slow
def test_a_page_image_is_never_kept_for_another_store_under_the_same_address(pdf_store, tmp_path):
    """/forms/N/pages/1 of one store, and of another served later on the same port, are other
    files' pages: the browser may keep a page only while its file's content is the same."""
    store, pdf = pdf_store
    form_id = _in_review(store)
    c, _ = client(store)
    first = c.get(f"/forms/{form_id}/pages/1")
    assert first.status_code == 200
    assert "no-cache" in first.headers["cache-control"] and "max-age" not in first.headers["cache-control"]
    again = c.get(f"/forms/{form_id}/pages/1", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and not again.content
    # Another store, its form of that id and page read from another file (here: another save of it).
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / pdf.name).write_bytes(pdf.read_bytes() + b"\n%another save\n")
    other = tmp_path / "out"
    run_batch([tmp_path / "docs"], other)
    assert _in_review(other) == form_id
    later = client(other)[0].get(f"/forms/{form_id}/pages/1", headers={"If-None-Match": first.headers["etag"]})
    assert later.status_code == 200 and later.content and later.headers["etag"] != first.headers["etag"]


def test_no_page_of_the_app_can_be_framed_by_another(pdf_store):
    """A page on another port of this host is the same site: framed, the app would send its
    cookie and token, and a steered click on the confirm page would approve forms."""
    store, _ = pdf_store
    c, _ = client(store)
    for address in ("/", f"/forms/{_in_review(store)}", "/approve-printed-errors"):
        answer = c.get(address)
        assert answer.status_code == 200
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_page_images_keep_the_apps_access_rules(pdf_store):
    store, _ = pdf_store
    form_id = _in_review(store)
    c = TestClient(review_app(store, "张三", access_token="s3cret"))
    assert c.get(f"/forms/{form_id}/pages/1").status_code == 403
    assert c.get(f"/forms/{form_id}/pages/1?token=s3cret").status_code == 200


def test_a_text_source_keeps_the_text_view(tmp_path):
    (tmp_path / "docs").mkdir()
    shutil.copy(SEED, tmp_path / "docs" / SEED.name)
    run_batch([tmp_path / "docs"], tmp_path / "out")
    form_id = _in_review(tmp_path / "out")
    c, _ = client(tmp_path / "out")
    html = c.get(f"/forms/{form_id}").text
    assert 'id="page-img"' not in html and '<pre id="source">' in html
    assert c.get(f"/forms/{form_id}/pages/1").status_code == 404


def test_reasons_are_grouped_by_row_in_the_forms_own_words(pdf_store):
    store, _ = pdf_store
    form_id = _in_review(store)
    form, _, _, _ = Review(store).form(form_id)
    per_field = [r for r in form.route.reasons if " confidence " in r]
    places = doubts(form)
    assert len(per_field) > 3 * len(places) > 0  # dozens of field lines, a few places
    # Every place of a field the route names is one the reviewer is shown.
    shown = {key for place in places for key in (place.rows or [place.key])}
    assert {place_of(form, r.split(" ")[0]) for r in per_field} == shown
    assert all(place.why for place in places)  # each place says why, in words
    c, _ = client(store)
    html = c.get(f"/forms/{form_id}").text
    reasons = html[html.index('id="reasons"'):html.index("</details>", html.index('id="reasons"'))]
    assert not any(r.replace("<", "&lt;") in reasons for r in per_field) and "&lt; 0.80" not in reasons
    assert reasons.count('<li class="doubt"') == len(places)
    assert "一级/二级指标归属不确定" in reasons and "indicator row" in reasons
    assert place_label(form, "indicators[13]").startswith(f"第 14 行指标「{form.indicators[13].name}」")


def _routed_by_an_earlier_version(store, form_ids: list[int]) -> None:
    """Forms an earlier jixiao sent to review for their printed errors alone (it routed on
    the confidence that printed errors lower): their reading itself is sure."""
    review = Review(store)
    for form_id in form_ids:
        form, _, _, _ = review.form(form_id)
        form.route = Route(decision="needs_review", threshold=0.8, reasons=[
            f"{p} confidence {c:.2f} < 0.80" for p, c in form.field_confidence.items() if c < 0.8])
        review.store.db.execute("UPDATE forms SET route = 'needs_review', record = ? WHERE id = ?",
                          (json.dumps(form.model_dump(mode="json"), ensure_ascii=False), form_id))
    review.close()


@pytest.fixture
def text_store(tmp_path):
    (tmp_path / "docs").mkdir()
    for seed in SEEDS:
        shutil.copy(seed, tmp_path / "docs" / seed.name)
    run_batch([tmp_path / "docs"], tmp_path / "out")
    return tmp_path / "out"


def _printed_only(review: Review) -> list[int]:
    """Accepted forms whose every finding (info aside) is a printed error."""
    out = []
    for (form_id,) in review.store.db.execute("SELECT id FROM forms WHERE route = 'accepted' ORDER BY id"):
        form, _, _, _ = review.form(form_id)
        serious = [f for f in form.findings if f.severity != "info"]
        if serious and all(f.triage == "source_inconsistency" for f in serious):
            out.append(form_id)
    return out


def test_the_queue_counts_reviewed_and_left_by_document_and_finding(text_store):
    c, token = client(text_store)
    queue = Review(text_store).queue()
    page = c.get("/").text
    assert f"待复核 left {len(queue)}" in page and "已复核 reviewed 0" in page
    by_document = page[page.index('id="by-document"'):page.index("</table>", page.index('id="by-document"'))]
    for item in queue:
        assert item["document"] in by_document
    first = queue[0]
    codes = {f.code for f in Review(text_store).form(first["id"])[0].findings if f.severity != "info"}
    by_code = page[page.index('id="by-code"'):page.index("</table>", page.index('id="by-code"'))]
    assert codes and all(f"?code={code}" in by_code for code in codes)
    version = Review(text_store).form(first["id"])[2]
    assert c.post(f"/forms/{first['id']}", data={"csrf": token, "version": version, "action": "approve"},
                  follow_redirects=False).status_code == 303
    assert "已复核 reviewed 1" in c.get("/").text and f"待复核 left {len(queue) - 1}" in c.get("/").text


def test_forms_with_only_printed_errors_are_listed_then_approved_with_audit_rows(text_store):
    review = Review(text_store)
    printed = _printed_only(review)[:3]
    doubtful = [i["id"] for i in review.queue()]
    review.close()
    assert len(printed) == 3
    _routed_by_an_earlier_version(text_store, printed)
    c, token = client(text_store)
    confirm = c.get("/approve-printed-errors").text
    ready = confirm[confirm.index('id="ready"'):confirm.index("</table>", confirm.index('id="ready"'))]
    assert sorted(int(i) for i in re.findall(r'name="form" value="(\d+):0"', ready)) == printed
    assert "source_inconsistency" not in ready and "SE-" in ready  # each printed error named, in words
    # A form in the queue whose findings are printed errors but whose reading is in doubt stays out.
    # (A form in review for a doubt alone, with no finding, is no printed-error form at all.)
    serious = {i: [f for f in Review(text_store).form(i)[0].findings if f.severity != "info"] for i in doubtful}
    blocked = [i for i in doubtful if serious[i] and all(f.triage == "source_inconsistency" for f in serious[i])]
    assert blocked and all(f'/forms/{i}"' in confirm[confirm.index('id="blocked"'):] for i in blocked)
    # Nothing is approved by looking at the list.
    assert all(Review(text_store).form(i)[3] == "pending" for i in printed)
    # One of them is saved by someone meanwhile: it is left, the others approved.
    saved = printed[0]
    c.post(f"/forms/{saved}", data={"csrf": token, "version": 0, "action": "save"})
    done = c.post("/approve-printed-errors", data={"csrf": token, "form": [f"{i}:0" for i in printed + blocked]})
    assert done.status_code == 200
    review = Review(text_store)
    assert [review.form(i)[3] for i in printed] == ["saved", "approved", "approved"]
    assert all(review.form(i)[3] == "pending" for i in blocked)
    for form_id in printed[1:]:
        log = review.audit(form_id)
        assert [(a["action"], a["reviewer"]) for a in log if a["field"] is None] == [("approve", "张三")]
    # Approved, they count as reviewed, though their recheck routed them as accepted.
    assert [review.form(i)[0].route.decision for i in printed[1:]] == ["accepted", "accepted"]
    assert "已复核 reviewed 2" in c.get("/").text
    assert c.post("/approve-printed-errors", data={"form": [f"{printed[1]}:1"]}).status_code == 403  # no CSRF token
    assert c.post("/approve-printed-errors", data={"csrf": token, "form": [f"{printed[1]}:1"]},
                  headers={"Origin": "http://elsewhere.example"}).status_code == 403  # another site's page
    assert c.post("/approve-printed-errors", data={"csrf": token, "form": ["../x"]}).status_code == 400


def test_approving_printed_errors_skips_a_form_read_again_since_the_list_was_shown(tmp_path):
    # The confirm page lists each form with the version it showed. A run (--retry-failed) that
    # reads a listed form again differently moves its version on: the approval leaves it, saying
    # why, rather than approve a reading no one was shown.
    seed = next(s for s in SEEDS if s.name.startswith("002"))  # its first form: printed errors alone
    (tmp_path / "docs").mkdir()
    shutil.copy(seed, tmp_path / "docs" / seed.name)
    out = tmp_path / "out"
    read_partly(tmp_path / "docs", out, failing=1)  # --retry-failed reads it again
    review = Review(out)
    (listed,) = _printed_only(review)[:1]
    review.close()
    _routed_by_an_earlier_version(out, [listed])
    c, token = client(out)
    confirm = c.get("/approve-printed-errors").text
    assert f'name="form" value="{listed}:0"' in confirm
    assert run_batch([tmp_path / "docs"], out, retry_failed=True).ok  # read again: routed afresh, version 1
    _routed_by_an_earlier_version(out, [listed])  # ... and still a form the approval would take
    assert Review(out).form(listed)[2] == 1
    done = c.post("/approve-printed-errors", data={"csrf": token, "form": [f"{listed}:0"]})
    assert done.status_code == 200 and "read again" in done.text and "重新读取" in done.text
    assert Review(out).form(listed)[3] == "pending" and Review(out).audit(listed) == []
    # The list shown again holds the new version, and approving from it goes through.
    assert f'name="form" value="{listed}:1"' in c.get("/approve-printed-errors").text
    c.post("/approve-printed-errors", data={"csrf": token, "form": [f"{listed}:1"]})
    assert Review(out).form(listed)[3] == "approved"


def _one_form_in_review(tmp_path, text: str) -> tuple:
    """docs/表.txt holding `text` run into out: (docs, out, the id of its one form in review)."""
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    (docs / "表.txt").write_text(text, encoding="utf-8")
    run_batch([docs], out)
    (form_id,) = [i["id"] for i in Review(out).queue()]
    return docs, out, form_id


def test_a_unit_a_reviewer_confirmed_against_the_page_no_longer_holds_the_form_back(tmp_path):
    # The form states its amount unit twice, differently (U3: in review, whoever read it), and
    # prints a 总分 its scores do not add up to (a printed error, the auditor's).
    from test_amount_unit import LABELLED, NOTE

    _, out, form_id = _one_form_in_review(tmp_path, LABELLED.replace("\t100\t98\t", "\t100\t96\t") + NOTE)
    c, token = client(out)

    def saved(version: int, **fields):
        answer = c.post(f"/forms/{form_id}", data={"csrf": token, "version": version, "action": "save", **fields},
                        follow_redirects=False)
        assert answer.status_code == 303, answer.text
        form = Review(out).form(form_id)[0]
        return form, [f for f in form.findings if f.code == "U3"]

    assert 'id="confirm-amount_unit"' in c.get(f"/forms/{form_id}").text
    # As the reviewer ticks the box, the page's live check says what saving would do (nothing saved yet).
    live = c.post(f"/api/forms/{form_id}/check", json={"confirm": "amount_unit"}, headers={"X-CSRF-Token": token})
    assert [f["severity"] for f in live.json()["findings"] if f["code"] == "U3"] == ["info"]
    # Saved with the box left empty, nothing is confirmed: the doubt stands.
    form, (u3,) = saved(0)
    assert u3.severity == "warning" and form.extraction_confidence["amount_unit"] < 0.5
    # Ticked: the finding stays, as info saying so; the unit's reading is no longer in doubt.
    form, (u3,) = saved(1, confirm="amount_unit")
    zh, en = u3.message.split(" / ")
    assert u3.severity == "info" and "复核人员已对照原表确认为元" in zh and "confirmed as 元 by a reviewer" in en
    assert form.extraction_confidence["amount_unit"] >= form.route.threshold
    assert not any(p.key == "amount_unit" for p in doubts(form))
    assert "confirm-amount_unit" not in c.get(f"/forms/{form_id}").text
    confirmations = [(a["reviewer"], a["field"], a["after"]) for a in Review(out).audit(form_id) if a["action"] == "confirm"]
    assert confirmations == [("张三", "amount_unit", '"元"')]
    # Only the printed error is left: routed as an earlier jixiao routed printed errors, the form
    # is one an approval of printed errors considers (before, U3 kept it out), and nothing about
    # its unit holds it back (its total's own doubt may).
    assert all(f.triage == "source_inconsistency" for f in form.findings if f.severity != "info")
    _routed_by_an_earlier_version(out, [form_id])
    (listed,) = [x for x in printed_errors_only(Review(out)) if x.id == form_id]
    assert not any("金额单位" in why or "amount_unit" in why for why in listed.blocked)
    # A unit changed since is not the one confirmed: the doubt is back; the audit keeps the confirmation.
    form, (u3,) = saved(2, amount_unit="万元")
    assert u3.severity == "warning" and form.confirmed_by_reviewer == {}
    assert [a["action"] for a in Review(out).audit(form_id)].count("confirm") == 1


def test_a_save_confirms_only_the_values_the_page_offered_to_confirm(tmp_path):
    # The page offers the box beside a value a person must settle against the page (U3: a unit
    # stated twice differently). A confirmation sets the reading's doubts about a value aside,
    # so a request naming other paths confirms nothing there: no doubt about them was put to
    # the reviewer, and the audit must not say one was answered.
    from test_amount_unit import LABELLED, NOTE

    _, out, form_id = _one_form_in_review(tmp_path, LABELLED + NOTE)
    c, token = client(out)
    page = c.get(f"/forms/{form_id}").text
    assert 'id="confirm-amount_unit"' in page and 'name="confirm" value="project_name"' not in page
    answer = c.post(f"/forms/{form_id}", data={"csrf": token, "version": 0, "action": "save",
                                               "confirm": ["project_name", "indicators[0].score", "amount_unit"]},
                    follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert Review(out).form(form_id)[0].confirmed_by_reviewer == {"amount_unit": "元"}
    assert [(a["field"], a["after"]) for a in Review(out).audit(form_id) if a["action"] == "confirm"] == [
        ("amount_unit", '"元"')]
    # The page's audit log says who did what, when, to which field, in both languages and by
    # the form's own label (the store keeps the English action and the path).
    log = c.get(f"/forms/{form_id}").text.split('id="audit"')[1].split("</table>")[0]
    assert "<th>复核人 who</th><th>时间 when (UTC)</th><th>操作 action</th><th>字段 field</th>" in log
    assert "<td>确认 confirm</td><td>金额单位 <code>amount_unit</code></td><td></td><td>&#34;元&#34;</td>" in log
    assert "<td>保存 save</td>" in log and "张三" in log


def test_a_confirmation_does_not_follow_a_reviewed_form_onto_a_changed_file_it_has_no_counterpart_in(tmp_path):
    # A confirmation holds against the page it was made on. Carried to a changed file's form it
    # lapses; kept for review with no counterpart in the changed file, it must lapse too, and
    # the form's findings are those of the new text, not the old page's 'confirmed' note.
    from test_amount_unit import LABELLED, NOTE

    docs, out, form_id = _one_form_in_review(tmp_path, LABELLED + NOTE)
    review = Review(out, "张三")
    form, _, version, _ = review.form(form_id)
    review.apply(form_id, form.model_dump(mode="json"), "save", version, ["amount_unit"])
    assert review.form(form_id)[0].confirmed_by_reviewer == {"amount_unit": "元"}
    review.close()
    shutil.copy(next(s for s in SEEDS if s.name.startswith("002")), docs / "表.txt")  # other projects
    assert run_batch([docs], out).ok
    review = Review(out)
    (stray,) = [i for i in review.queue() if i["form_index"] < 0]
    kept = review.form(stray["id"])[0]
    assert kept.project_name == form.project_name and kept.confirmed_by_reviewer == {}
    assert not any("复核人员已对照原表确认" in f.message for f in kept.findings)
    assert [a["action"] for a in review.audit(stray["id"])].count("confirm") == 1  # the audit keeps what was done
