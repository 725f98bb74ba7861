"""The store keeps every document and every reviewer's work: documents are known by their
relative path, a re-read never deletes a review or an audit row, one run writes to a store at
a time, and a store of the first layout is upgraded without losing a row. Real files, real
runs (CLI in subprocesses), two real processes for the lock."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from starlette.testclient import TestClient

from conftest import ROOT, SEEDS, read_partly, review_app
from fakeserver import Fault, FakeOpenAI, gold_answerer
from jixiao.backends import get_backend
from jixiao.batch import run_batch
from jixiao.pipeline import extract_document
from jixiao.errors import StaleEdit, SupersededForm
from jixiao.review import Review
from jixiao.store.layout import SCHEMA_VERSION
from jixiao.store import DB_NAME
from test_batch import run_cli, stored
from test_llm import GOLD_FORMS
from test_robustness import settings


def query(out, sql, *args):
    db = sqlite3.connect(out / DB_NAME)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def exported(out, tmp_path):
    result = run_cli("export", out, "--format", "jsonl", "-o", tmp_path / "export.jsonl")
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "export.jsonl").read_text(encoding="utf-8").splitlines()
    return {r["document"]: len(r["forms"]) for r in map(json.loads, lines)}


def two_folders(tmp_path):
    """d/A/自评表.txt and d/B/自评表.txt: one name, different content, each with a form to review."""
    for folder, seed in (("A", SEEDS[0]), ("B", SEEDS[2])):
        (tmp_path / "d" / folder).mkdir(parents=True)
        shutil.copy(seed, tmp_path / "d" / folder / "自评表.txt")
    return tmp_path / "d"


# --- item 1: a document is its relative path ----------------------------------------------------

@pytest.mark.slow
def test_files_of_one_name_in_two_folders_are_two_documents_in_the_store_export_and_queue(tmp_path):
    docs, out = two_folders(tmp_path), tmp_path / "out"
    counts = {name: len(extract_document(seed).forms) for name, seed in (("A", SEEDS[0]), ("B", SEEDS[2]))}
    for _ in range(2):  # a re-run must not flip one of them out
        result = run_cli("run", docs, "--out", out)
        assert result.returncode == 0, result.stderr
        assert query(out, "SELECT name, status FROM documents ORDER BY name") == [
            ("A/自评表.txt", "done"), ("B/自评表.txt", "done")]
        assert exported(out, tmp_path) == {"A/自评表.txt": counts["A"], "B/自评表.txt": counts["B"]}
        queued = {item["document"] for item in Review(out).queue(include_done=True)}
        assert queued == {"A/自评表.txt", "B/自评表.txt"}
    # A file edited in place supersedes its earlier version at the same relative path only.
    shutil.copy(SEEDS[1], docs / "A" / "自评表.txt")
    assert run_cli("run", docs, "--out", out).returncode == 0
    assert query(out, "SELECT name, status FROM documents ORDER BY id") == [
        ("A/自评表.txt", "superseded"), ("B/自评表.txt", "done"), ("A/自评表.txt", "done")]
    # The same content at another path is still a duplicate.
    (docs / "C").mkdir()
    shutil.copy(SEEDS[2], docs / "C" / "副本.txt")
    again = run_cli("run", docs, "--out", out)
    assert "C/副本.txt" in again.stderr and "same content as B/自评表.txt" in again.stderr
    assert set(exported(out, tmp_path)) == {"A/自评表.txt", "B/自评表.txt"}


@pytest.mark.slow
def test_gold_from_review_and_eval_keep_two_documents_of_one_name_apart(tmp_path):
    out = tmp_path / "out"
    run_batch([two_folders(tmp_path)], out)
    review = Review(out, "李四")
    for item in review.queue(include_done=True):
        review.apply(item["id"], {}, "approve", 0)
    for (form_id,) in query(out, "SELECT f.id FROM forms f LEFT JOIN reviews r ON r.form_id = f.id"
                                 " WHERE r.form_id IS NULL"):
        review.apply(form_id, {}, "approve", 0)
    written = review.export_gold(tmp_path / "gold")
    assert sorted(p.name for p in written) == ["A__自评表.json", "B__自评表.json"] and not review.skipped
    result = run_cli("eval", "--gold", tmp_path / "gold", _export(out, tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report["per_document"]) == {"A/自评表.txt", "B/自评表.txt"} and report["overall"] == 1.0


def _export(out, tmp_path):
    assert run_cli("export", out, "--format", "jsonl", "-o", tmp_path / "pred.jsonl").returncode == 0
    return tmp_path / "pred.jsonl"


@pytest.mark.slow
def test_the_same_relative_path_from_two_inputs_is_kept_under_its_input_root_not_superseded(tmp_path):
    for folder, seed in (("x", SEEDS[0]), ("y", SEEDS[1])):
        (tmp_path / folder).mkdir()
        shutil.copy(seed, tmp_path / folder / "表.txt")
    for _ in range(2):
        result = run_cli("run", tmp_path / "x", tmp_path / "y", "--out", tmp_path / "out")
        assert result.returncode == 0, result.stderr
        assert query(tmp_path / "out", "SELECT name, status FROM documents ORDER BY id") == [
            ("表.txt", "done"), ("y/表.txt", "done")]
    assert exported(tmp_path / "out", tmp_path) == {"表.txt": 2, "y/表.txt": 7}


def _summary_lines(result):
    return " ".join(result.stderr.split())


@pytest.mark.slow
def test_the_same_relative_name_read_on_separate_runs_is_two_documents_never_superseded(tmp_path):
    docs = two_folders(tmp_path)  # d/A/自评表.txt, d/B/自评表.txt: one name, other content
    out, files = tmp_path / "out", tmp_path / "files"
    for _ in range(3):  # folders given one at a time, again and again: nothing flips
        for folder in ("A", "B"):
            assert run_cli("run", docs / folder, "--out", out).returncode == 0
        assert query(out, "SELECT name, status FROM documents ORDER BY id") == [
            ("自评表.txt", "done"), ("B/自评表.txt", "done")]
    assert exported(out, tmp_path) == {"自评表.txt": 2, "B/自评表.txt": 3}
    # Single files given on separate runs: the same.
    for _ in range(3):
        for folder in ("A", "B"):
            result = run_cli("run", docs / folder / "自评表.txt", "--out", files)
            assert result.returncode == 0, result.stderr
            if _ == 0 and folder == "B":
                assert ("相对路径 自评表.txt 已属于另一个文件" in result.stderr and
                        "the relative path 自评表.txt already belongs to another file: this one is stored as "
                        "B/自评表.txt, and both are kept" in _summary_lines(result))
            else:
                assert "already belongs" not in result.stderr
    assert query(files, "SELECT name, status FROM documents ORDER BY id") == [
        ("自评表.txt", "done"), ("B/自评表.txt", "done")]
    # The same file given through another folder keeps its name: A/自评表.txt is 自评表.txt.
    again = run_batch([docs], out)
    assert (again.done, again.skipped, again.duplicates) == (0, 2, 0)
    # A folder moved elsewhere: with the same content, a duplicate; edited there, a second
    # document beside the first, which is not superseded.
    moved = tmp_path / "moved" / "A"
    moved.mkdir(parents=True)
    shutil.copy(docs / "A" / "自评表.txt", moved / "自评表.txt")
    result = run_cli("run", moved, "--out", out)
    assert "same content as 自评表.txt" in result.stderr
    shutil.copy(SEEDS[1], moved / "自评表.txt")
    assert run_cli("run", moved, "--out", out).returncode == 0
    assert query(out, "SELECT name, status FROM documents ORDER BY id") == [
        ("自评表.txt", "done"), ("B/自评表.txt", "done"), ("A/自评表.txt", "superseded"), ("A/自评表.txt", "done")]
    assert exported(out, tmp_path) == {"自评表.txt": 2, "B/自评表.txt": 3, "A/自评表.txt": 7}


@pytest.mark.slow
def test_a_third_file_of_one_name_and_one_root_name_is_known_by_its_resolved_path(tmp_path):
    for place, seed in (("p", SEEDS[0]), ("q", SEEDS[1]), ("r", SEEDS[2])):
        (tmp_path / place / "B").mkdir(parents=True)
        shutil.copy(seed, tmp_path / place / "B" / "表.txt")
        assert run_cli("run", tmp_path / place / "B", "--out", tmp_path / "out").returncode == 0
    third = str((tmp_path / "r" / "B" / "表.txt").resolve())
    assert query(tmp_path / "out", "SELECT name, status FROM documents ORDER BY id") == [
        ("表.txt", "done"), ("B/表.txt", "done"), (third, "done")]
    review = Review(tmp_path / "out", "李四")
    for (form_id,) in query(tmp_path / "out", "SELECT id FROM forms"):
        review.apply(form_id, {}, "approve", 0)
    written = review.export_gold(tmp_path / "gold")
    assert all(p.parent == tmp_path / "gold" for p in written) and len(written) == 3


# --- a copy stays in the export when its original changes --------------------------------------

@pytest.mark.slow
def test_a_copy_is_read_again_in_the_run_that_supersedes_its_original(tmp_path):
    docs, out = tmp_path / "m2", tmp_path / "out"
    (docs / "A").mkdir(parents=True)
    (docs / "C").mkdir()
    shutil.copy(SEEDS[0], docs / "A" / "x.txt")
    shutil.copy(SEEDS[0], docs / "C" / "x.txt")
    first = run_cli("run", docs, "--out", out)
    assert "same content as A/x.txt" in first.stderr
    assert query(out, "SELECT name, status FROM documents ORDER BY name") == [("A/x.txt", "done"), ("C/x.txt", "duplicate")]
    shutil.copy(SEEDS[1], docs / "A" / "x.txt")  # the original is edited
    second = run_cli("run", docs, "--out", out)
    assert second.returncode == 0, second.stderr
    assert "C/x.txt was stored as a copy of a document that has since been superseded" in _summary_lines(second)
    assert query(out, "SELECT name, status FROM documents WHERE status != 'superseded' ORDER BY name") == [
        ("A/x.txt", "done"), ("C/x.txt", "done")]
    assert exported(out, tmp_path) == {"A/x.txt": 7, "C/x.txt": 2}
    records = {r["document"]: r for r in map(json.loads, (tmp_path / "export.jsonl").read_text().splitlines())}
    assert records["C/x.txt"]["forms"][0]["project_name"] == "党群综合服务"
    third = run_batch([docs], out)
    assert (third.done, third.skipped) == (0, 2)
    assert exported(out, tmp_path) == {"A/x.txt": 7, "C/x.txt": 2}


@pytest.mark.slow
def test_a_copy_is_read_again_when_only_its_original_is_run_or_on_the_next_run(tmp_path):
    docs, out = tmp_path / "m2", tmp_path / "out"
    (docs / "A").mkdir(parents=True)
    (docs / "C").mkdir()
    for name in ("A/x.txt", "C/x.txt", "C/y.txt"):
        shutil.copy(SEEDS[0], docs / name)
    assert run_cli("run", docs, "--out", out).returncode == 0
    # Only the original's folder is run, its file edited: the copies are read from where they are.
    shutil.copy(SEEDS[1], docs / "A" / "x.txt")
    result = run_cli("run", docs / "A", "--out", out)
    assert result.returncode == 0, result.stderr
    assert query(out, "SELECT name, status FROM documents WHERE status != 'superseded' ORDER BY name") == [
        ("A/x.txt", "done"), ("C/x.txt", "done"), ("C/y.txt", "duplicate")]
    assert exported(out, tmp_path) == {"A/x.txt": 7, "C/x.txt": 2}
    # A store left with a copy of a no longer live original (as an earlier version did) is
    # mended on the next run.
    db = sqlite3.connect(out / DB_NAME)
    db.execute("UPDATE documents SET status = 'duplicate', duplicate_of = (SELECT id FROM documents WHERE"
               " name = 'A/x.txt' AND status = 'superseded') WHERE name = 'C/x.txt'")
    db.commit()
    db.close()
    assert set(exported(out, tmp_path)) == {"A/x.txt"}
    assert run_cli("run", docs, "--out", out).returncode == 0
    assert exported(out, tmp_path) == {"A/x.txt": 7, "C/x.txt": 2}


# --- item 2: a re-read never deletes reviewers' work -------------------------------------------

def _audit(out):
    return query(out, "SELECT form_id, reviewer, action, field, before, after FROM audit ORDER BY id")


@pytest.mark.slow
def test_retrying_a_partial_document_keeps_the_review_the_audit_and_shows_the_new_reading(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / SEEDS[0].name)
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(Fault(503))  # the first form fails: the document is partial
        first = run_batch([docs], out, get_backend("llm", settings(server, tmp_path)))
        assert first.failed_forms == 1
        assert query(out, "SELECT status FROM documents") == [("partial",)]
        (failed_id,) = [i["id"] for i in Review(out).queue() if i["error"]]
        good_id = next(fid for (fid,) in query(out, "SELECT id FROM forms") if fid != failed_id)
        review = Review(out, "张三")
        review.apply(failed_id, {"project_name": "党群综合服务（复核）", "total_score": 99.5}, "approve", 0)
        before = _audit(out)
        assert len(before) == 3  # two edits and the approval
        retried = run_batch([docs], out, get_backend("llm", settings(server, tmp_path)), retry_failed=True)
    assert retried.done == 1 and retried.ok
    assert _audit(out) == before
    form, _, version, status = Review(out).form(failed_id)
    assert (form.project_name, form.total_score, version, status) == ("党群综合服务（复核）", 99.5, 1, "approved")
    assert Review(out).form(good_id)[0].project_name == "社区自治管理"  # unreviewed: read afresh
    newer = Review(out).newer_reading(failed_id)
    assert {c["path"]: c["newer"] for c in newer["changes"]}["project_name"] == '"党群综合服务"'
    page = TestClient(review_app(out)).get(f"/forms/{failed_id}").text
    assert "新的机器读取" in page and 'data-path="project_name" data-value="党群综合服务"' in page
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        query(out, "DELETE FROM audit")


def _page_version(page: str) -> tuple[str, str]:
    """(csrf token, form version) as a form's review page holds them for its save."""
    return (re.search(r'name="csrf" value="([^"]+)"', page).group(1),
            re.search(r'name="version" value="(\d+)"', page).group(1))


@pytest.mark.slow
def test_a_save_from_a_page_opened_before_a_retry_is_refused_and_the_new_reading_kept(tmp_path):
    """The reviewer's finding: --retry-failed read an unreviewed form again in place, under the
    version a page opened before still held; that page then saved over the new reading, and the
    audit took the page's values for the reviewer's edits."""
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / SEEDS[0].name)
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(Fault(503))  # the first form fails: the document is partial
        run_batch([docs], out, get_backend("llm", settings(server, tmp_path)))
        (failed_id,) = [i["id"] for i in Review(out).queue() if i["error"]]
        good_id = next(fid for (fid,) in query(out, "SELECT id FROM forms") if fid != failed_id)
        app = TestClient(review_app(out, "张三"))
        opened = {form_id: _page_version(app.get(f"/forms/{form_id}").text) for form_id in (failed_id, good_id)}
        retried = run_batch([docs], out, get_backend("llm", settings(server, tmp_path)), retry_failed=True)
    assert retried.done == 1 and retried.ok
    reread = query(out, "SELECT record FROM forms WHERE id = ?", failed_id)
    assert "党群综合服务" in reread[0][0]
    token, version = opened[failed_id]
    answer = app.post(f"/forms/{failed_id}", data={"csrf": token, "version": version, "action": "save",
                                                   "project_name": "页面上的旧值"})
    assert answer.status_code == 409
    assert "重新读取" in answer.text and "read again" in answer.text and f"/forms/{failed_id}" in answer.text
    assert query(out, "SELECT record FROM forms WHERE id = ?", failed_id) == reread  # the new reading stands
    assert _audit(out) == []  # nothing recorded as the reviewer's edit
    # Reloaded, the page takes the new version and its save goes through, audited.
    token, version = _page_version(app.get(f"/forms/{failed_id}").text)
    assert version != opened[failed_id][1]
    answer = app.post(f"/forms/{failed_id}", data={"csrf": token, "version": version, "action": "save",
                                                   "project_name": "党群综合服务（复核）"}, follow_redirects=False)
    assert answer.status_code == 303
    assert [(r[1], r[2], r[3]) for r in _audit(out)] == [("张三", "edit", "project_name"), ("张三", "save", None)]
    # A form read again to the very same record has nothing a page could save over: not refused.
    token, version = opened[good_id]
    answer = app.post(f"/forms/{good_id}", data={"csrf": token, "version": version, "action": "save"},
                      follow_redirects=False)
    assert answer.status_code == 303


def test_a_save_from_a_page_on_a_form_a_retry_no_longer_reads_is_refused_with_where_to_look(tmp_path, monkeypatch):
    """A retry that reads a document as fewer forms removes the unreviewed extra ones. A page
    open on one gets the 409 a stale page gets, with a link to the document's queue, and the
    form's id is never given to a later form (whose record the page would save over)."""
    import jixiao.pipeline

    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / SEEDS[0].name)  # two forms
    read_partly(docs, out, failing=0)
    real_segment = jixiao.pipeline.segment
    (failed_id, _), (extra_id, _) = query(out, "SELECT id, form_index FROM forms ORDER BY form_index")
    app = TestClient(review_app(out, "张三"))
    token, version = _page_version(app.get(f"/forms/{extra_id}").text)
    monkeypatch.setattr(jixiao.pipeline, "segment", lambda doc: real_segment(doc)[:1])  # the retry reads one form
    assert run_batch([docs], out, retry_failed=True).ok
    assert query(out, "SELECT id FROM forms") == [(failed_id,)]
    monkeypatch.undo()
    # A later run's forms take new ids, past the removed one (SQLite would have handed it out again).
    shutil.copy(SEEDS[1], docs / SEEDS[1].name)
    run_batch([docs], out)
    later = [i for (i,) in query(out, "SELECT id FROM forms WHERE id != ?", failed_id)]
    assert later and extra_id not in later and min(later) > extra_id
    answer = app.post(f"/forms/{extra_id}", data={"csrf": token, "version": version, "action": "save",
                                                  "project_name": "页面上的旧值"})
    assert answer.status_code == 409
    assert "重新读取" in answer.text and "read again as fewer forms" in answer.text
    assert f"href='/?document={SEEDS[0].name}'" in answer.text
    assert _audit(out) == [] and "页面上的旧值" not in str(query(out, "SELECT record FROM forms"))
    # Opened now, the page says the same (404: the form is not there); a bad CSRF token is still refused first.
    opened = app.get(f"/forms/{extra_id}")
    assert opened.status_code == 404 and "read again as fewer forms" in opened.text
    assert app.post(f"/forms/{extra_id}", data={"csrf": "forged", "version": version}).status_code == 403
    assert app.post(f"/forms/{later[-1] + 1}", data={"csrf": token, "version": 0}).status_code == 404  # never a form


CARRIED = ("1 张已复核的表来自旧版本，已保留复核结果，新读取结果待复核 / 1 reviewed forms came from the earlier version: "
           "their reviewed records are kept, the new reading awaits review")


def _exported_forms(out, tmp_path):
    exported(out, tmp_path)
    return {r["document"]: r["forms"] for r in map(json.loads, (tmp_path / "export.jsonl").read_text().splitlines())}


def _one_reviewed_form(tmp_path, reviewer, edit):
    """docs/表.txt (seed 001) run into out, its first form (queued) approved with `edit`."""
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / "表.txt")
    assert run_cli("run", docs, "--out", out).returncode == 0
    review = Review(out, reviewer)
    form_id = next(i["id"] for i in review.queue() if i["form_index"] == 0)
    review.apply(form_id, edit, "approve", 0)
    return docs, out, form_id, _audit(out)


def _at_first(queue: list[dict]) -> list[dict]:
    """The queued forms in the reviewed form's place (the file's first form); whether its
    other form is queued too is the routing's business, not these tests'."""
    return [i for i in queue if i["form_index"] == 0]


def _append(path, line="\n"):
    with path.open("a", encoding="utf-8") as f:
        f.write(line)


@pytest.mark.slow
def test_a_file_reverted_to_reviewed_content_keeps_its_review(tmp_path):
    docs, out, form_id, before = _one_reviewed_form(tmp_path, "王五", {"grade": "良"})
    original = (docs / "表.txt").read_text(encoding="utf-8")
    _append(docs / "表.txt")  # edited: the reviewed record goes on to the new version…
    edited = run_cli("run", docs, "--out", out)
    assert edited.returncode == 0 and CARRIED in _summary_lines(edited)
    forms = _exported_forms(out, tmp_path)["表.txt"]
    assert len(forms) == 2 and forms[0]["grade"] == "良" and forms[0]["project_name"] == "党群综合服务"
    (carried,) = [i for i in Review(out).queue() if i["form_index"] == 0]
    assert Review(out).carried(carried["id"])["id"] == form_id
    (docs / "表.txt").write_text(original, encoding="utf-8")  # …and put back, not looked at since: its own review stands
    back = run_cli("run", docs, "--out", out)
    assert back.returncode == 0 and "visible in review" not in back.stderr and "newer reviews" not in back.stderr
    assert _audit(out) == before
    assert Review(out).form(form_id)[0].grade == "良" and Review(out).form(form_id)[3] == "approved"
    assert query(out, "SELECT status FROM documents ORDER BY id") == [("done",), ("superseded",)]
    assert _exported_forms(out, tmp_path)["表.txt"][0]["grade"] == "良"


@pytest.mark.slow
@pytest.mark.parametrize("edits", [1, 2])
def test_a_file_put_back_takes_the_newest_review_not_its_old_one(tmp_path, edits):
    docs, out, first, before = _one_reviewed_form(tmp_path, "王五", {"project_name": "A1"})
    original = (docs / "表.txt").read_text(encoding="utf-8")
    for _ in range(edits):  # edited, once or twice; the carried form is approved again only at the end
        _append(docs / "表.txt")
        assert run_cli("run", docs, "--out", out).returncode == 0
    (later,) = [i["id"] for i in Review(out).queue() if i["form_index"] == 0]
    Review(out, "赵六").apply(later, {"project_name": "A2_LATER_FIX"}, "approve", 0)
    (docs / "表.txt").write_text(original, encoding="utf-8")  # put back to the first version's content
    back = run_cli("run", docs, "--out", out)
    assert back.returncode == 0, back.stderr
    assert "visible in review" not in back.stderr and CARRIED in _summary_lines(back)
    assert [f["project_name"] for f in _exported_forms(out, tmp_path)["表.txt"]] == ["A2_LATER_FIX", "社区自治管理"]
    # The newer review goes onto the first version's own form, back to the queue with the reason.
    form, _, version, status = Review(out).form(first)
    assert (form.project_name, status, version) == ("A2_LATER_FIX", "pending", 2)
    assert form.route.reasons[0].startswith("文件在复核后改动过") and Review(out).carried(first)["id"] == later
    assert [i["id"] for i in _at_first(Review(out).queue())] == [first]
    assert _audit(out)[:len(before)] == before  # every review's audit is still there
    assert [a["action"] for a in Review(out).audit(first)] == ["edit", "approve", "edit", "approve"]
    # A page opened on the first form before the file was put back cannot save over it.
    with pytest.raises(StaleEdit):
        Review(out, "王五").apply(first, {"project_name": "STALE"}, "approve", 1)


@pytest.mark.slow
def test_a_page_open_on_an_unreviewed_form_cannot_save_over_a_review_carried_onto_it(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / "表.txt")
    original = (docs / "表.txt").read_text(encoding="utf-8")
    assert run_cli("run", docs, "--out", out).returncode == 0
    first = next(i["id"] for i in Review(out).queue() if i["form_index"] == 0)
    page, _, opened_at, _ = Review(out).form(first)  # a page opened on it, never saved: no review row yet
    assert opened_at == 0
    _append(docs / "表.txt")  # edited: a new version, its first form reviewed there…
    assert run_cli("run", docs, "--out", out).returncode == 0
    (later,) = [i["id"] for i in _at_first(Review(out).queue())]
    Review(out, "赵六").apply(later, {"total_score": 77.7}, "approve", 0)
    (docs / "表.txt").write_text(original, encoding="utf-8")  # …then put back: the review comes onto `first`
    assert run_cli("run", docs, "--out", out).returncode == 0
    assert Review(out).form(first)[0].total_score == 77.7
    with pytest.raises(StaleEdit):  # the page's old values would have gone over the carried review
        Review(out, "王五").apply(first, {"total_score": page.total_score}, "save", opened_at)
    assert Review(out).form(first)[0].total_score == 77.7


@pytest.mark.slow
def test_editing_a_file_keeps_its_reviewed_forms_and_queues_the_new_reading(tmp_path):
    docs, out, first, before = _one_reviewed_form(tmp_path, "张三", {"project_name": "改过的名字"})
    with (docs / "表.txt").open("a", encoding="utf-8") as f:
        f.write("\n")  # a trailing newline is a new version of the file
    result = run_cli("run", docs, "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"{docs / '表.txt'}: {CARRIED}" in _summary_lines(result)
    assert query(out, "SELECT status FROM documents ORDER BY id") == [("superseded",), ("done",)]
    forms = _exported_forms(out, tmp_path)["表.txt"]
    assert [f["project_name"] for f in forms] == ["改过的名字", "社区自治管理"]  # the reviewed record is exported
    assert forms[0]["route"]["decision"] == "needs_review"
    review = Review(out, "张三")
    (item,) = _at_first(review.queue())
    assert (item["project_name"], item["status"]) == ("改过的名字", "pending") and item["id"] != first
    assert review.carried(item["id"]) == {"id": first, "status": "approved", "reviewer": "张三"}
    newer = review.newer_reading(item["id"])
    assert [(c["path"], c["newer"]) for c in newer["changes"]] == [("project_name", '"党群综合服务"')]
    assert [a["action"] for a in review.audit(item["id"])] == ["edit", "approve"]
    assert all(a["earlier"] and a["form_id"] == first for a in review.audit(item["id"]))
    page = TestClient(review_app(out)).get(f"/forms/{item['id']}").text
    assert 'id="carried"' in page and f'href="/forms/{first}"' in page and "新的机器读取" in page
    assert "（旧版本 earlier version）" in page
    # The reviewer looks again and approves: both forms' audit stays, each with its form.
    review.apply(item["id"], {}, "approve", 0)
    assert _audit(out)[:len(before)] == before and _audit(out)[-1][:3] == (item["id"], "张三", "approve")
    assert [a["form_id"] for a in review.audit(item["id"])] == [first, first, item["id"]]
    # Edited once more: the carried, re-approved record goes on again.
    with (docs / "表.txt").open("a", encoding="utf-8") as f:
        f.write("\n")
    assert CARRIED in _summary_lines(run_cli("run", docs, "--out", out))
    (again,) = _at_first(Review(out).queue())
    assert Review(out).store.earlier_forms(again["id"]) == [again["id"], item["id"], first]
    assert _exported_forms(out, tmp_path)["表.txt"][0]["project_name"] == "改过的名字"


NO_MATCH = "文件改动后找不到对应的表 / reviewed form with no counterpart in the changed file"


@pytest.mark.slow
def test_a_reviewed_form_the_new_version_has_no_form_for_is_kept_for_review_not_exported(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / "表.txt")  # two self-evaluation forms
    run_batch([docs], out)
    review = Review(out, "张三")
    ids = [form_id for (form_id,) in query(out, "SELECT id FROM forms ORDER BY form_index")]
    review.apply(ids[0], {"project_name": "甲（复核）"}, "approve", 0)
    review.apply(ids[1], {"project_name": "乙（复核）"}, "reject", 0)
    shutil.copy(SEEDS[2], docs / "表.txt")  # now three target declarations: no form of that kind
    summary = run_batch([docs], out)
    (line,) = [m for m in summary.messages if "no counterpart in the changed file" in m]
    assert "甲（复核）" in line and "乙（复核）" in line and "not exported" in line and "文件改动后找不到对应的表" in line
    forms = _exported_forms(out, tmp_path)["表.txt"]
    assert [f["project_name"] for f in forms] == ["党建经费", "专户项目经费", "生活驿站运行经费"]
    assert query(out, "SELECT forms FROM documents WHERE status = 'done'") == [(3,)]
    queued = {i["project_name"]: i for i in Review(out).queue()}
    assert {"甲（复核）", "乙（复核）"} <= set(queued) and queued["甲（复核）"]["form_index"] < 0
    assert Review(out).carried(queued["乙（复核）"]["id"]) == {"id": ids[1], "status": "rejected", "reviewer": "张三"}
    stray = Review(out).form(queued["甲（复核）"]["id"])[0]
    assert stray.route.reasons[0].startswith(NO_MATCH.split(" / ")[0])
    page = TestClient(review_app(out)).get(f"/forms/{queued['甲（复核）']['id']}").text
    assert 'id="carried"' in page and "reviewed form with no counterpart in the changed file" in page
    listing = TestClient(review_app(out)).get("/").text
    assert "无对应 no match" in listing
    # Settled (rejected) it goes no further; kept, it follows the file to its next version.
    Review(out, "张三").apply(queued["乙（复核）"]["id"], {}, "reject", 0)
    _append(docs / "表.txt")
    run_batch([docs], out)
    assert {i["project_name"] for i in Review(out).queue() if i["form_index"] < 0} == {"甲（复核）"}
    assert [f["project_name"] for f in _exported_forms(out, tmp_path)["表.txt"]] == ["党建经费", "专户项目经费", "生活驿站运行经费"]
    gold = Review(out, "张三")
    for item in gold.queue(include_done=True):
        gold.apply(item["id"], {}, "approve", item["status"] != "pending")
    for (form_id,) in query(out, "SELECT f.id FROM forms f JOIN documents d ON d.id = f.document_id LEFT JOIN reviews r"
                                 " ON r.form_id = f.id WHERE r.form_id IS NULL AND d.status = 'done'"):
        gold.apply(form_id, {}, "approve", 0)
    (written,) = gold.export_gold(tmp_path / "gold")
    assert [f["project_name"] for f in json.loads(written.read_text())["forms"]] == ["党建经费", "专户项目经费", "生活驿站运行经费"]


# --- a reviewed form goes to the form it is, not to a position ------------------------------------

def _approve_name(out, form_id, name, reviewer="alice"):
    review = Review(out, reviewer)
    _, _, version, _ = review.form(form_id)
    return review.apply(form_id, {"project_name": name}, "approve", version)


@pytest.mark.slow
def test_a_reviewed_form_is_carried_to_the_form_it_matches_and_every_form_is_exported_once(tmp_path):
    """The reviewer's repro A: the first form cut out of 002 (7 → 6 forms)."""
    docs, out = tmp_path / "s2", tmp_path / "o4"
    docs.mkdir()
    shutil.copy(SEEDS[1], docs / "doc.txt")
    lines = (docs / "doc.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    assert run_cli("run", docs, "--out", out).returncode == 0
    ids = dict(query(out, "SELECT project_name, id FROM forms"))
    _approve_name(out, ids["党群中心专项经费"], "REVIEWED_党群中心")
    _approve_name(out, ids["基层党建数字化转型项目"], "REVIEWED_基层党建")
    (docs / "doc.txt").write_text("".join(lines[:2] + lines[42:]), encoding="utf-8")  # sed '3,42d'
    result = run_cli("run", docs, "--out", out)
    assert result.returncode == 0, result.stderr
    forms = _exported_forms(out, tmp_path)["doc.txt"]
    assert [(f["source"]["form_index"], f["project_name"]) for f in forms] == [
        (0, "居委办公经费"), (1, "REVIEWED_党群中心"), (2, "文化馆文化艺术专项"), (3, "党组织服务群众经费"),
        (4, "赛事活动及健身场地设施管理"), (5, "REVIEWED_基层党建")]
    assert "2 reviewed forms came from the earlier version" in _summary_lines(result)
    assert "no counterpart" not in result.stderr
    assert {f["project_name"]: f["route"]["decision"] for f in forms}["REVIEWED_党群中心"] == "needs_review"
    review = Review(out)
    queued = {i["project_name"]: i["id"] for i in review.queue()}
    assert set(queued) == {"REVIEWED_党群中心", "REVIEWED_基层党建"}
    assert review.carried(queued["REVIEWED_党群中心"])["id"] == ids["党群中心专项经费"]
    newer = {c["path"]: c["newer"] for c in review.newer_reading(queued["REVIEWED_党群中心"])["changes"]}
    assert newer["project_name"] == '"党群中心专项经费"'
    csv = run_cli("export", out, "--format", "csv", "--output", tmp_path / "exp")
    assert csv.returncode == 0, csv.stderr
    rows = (tmp_path / "exp" / "forms.csv").read_text(encoding="utf-8-sig").splitlines()[1:]
    assert len(rows) == 6 and sum("基层党建" in r for r in rows) == 1 and sum("文化馆文化艺术专项" in r for r in rows) == 1


@pytest.mark.slow
def test_a_new_report_under_the_same_name_is_exported_whole_and_the_old_review_is_kept_for_review(tmp_path):
    """The reviewer's repro B: a new year's report (004) over a reviewed 002, same file name."""
    docs, out = tmp_path / "s5", tmp_path / "o5"
    docs.mkdir()
    shutil.copy(SEEDS[1], docs / "自评表.txt")
    assert run_cli("run", docs, "--out", out).returncode == 0
    (first,) = [i for (i,) in query(out, "SELECT id FROM forms WHERE form_index = 0")]
    _approve_name(out, first, "REVIEWED_图书")
    shutil.copy(SEEDS[3], docs / "自评表.txt")
    result = run_cli("run", docs, "--out", out)
    fresh = [f.project_name for f in extract_document(SEEDS[3]).forms]
    assert [f["project_name"] for f in _exported_forms(out, tmp_path)["自评表.txt"]] == fresh
    assert "reviewed forms with no counterpart in the changed file: REVIEWED_图书" in _summary_lines(result)
    (stray,) = [i for i in Review(out).queue() if i["project_name"] == "REVIEWED_图书"]
    assert stray["form_index"] < 0 and Review(out).carried(stray["id"])["id"] == first


@pytest.mark.slow
def test_a_copy_read_in_place_of_its_superseded_original_keeps_the_reviews_of_its_content(tmp_path):
    docs, out = tmp_path / "dp", tmp_path / "o9"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / "a.txt")
    shutil.copy(SEEDS[0], docs / "b.txt")
    assert run_cli("run", docs, "--out", out).returncode == 0
    ids = [i for (i,) in query(out, "SELECT id FROM forms ORDER BY form_index")]
    _approve_name(out, ids[0], "FIXED_a")
    _approve_name(out, ids[1], "FIXED_a2")
    _append(docs / "a.txt", "e\n")
    result = run_cli("run", docs, "--out", out)
    assert result.returncode == 0, result.stderr
    forms = _exported_forms(out, tmp_path)
    assert [f["project_name"] for f in forms["b.txt"]] == ["FIXED_a", "FIXED_a2"]
    assert (f"{docs / 'b.txt'}: 2 张表与已复核的原件内容相同，复核结果照旧保留 / 2 forms have the identical content of reviewed "
            "forms of the superseded original: their reviews stand as they were") in _summary_lines(result)
    assert [f["project_name"] for f in forms["a.txt"]] == ["FIXED_a", "FIXED_a2"]  # carried, back for review
    copies = query(out, "SELECT f.carried_from, r.status, r.reviewer FROM forms f JOIN documents d ON d.id = f.document_id"
                        " JOIN reviews r ON r.form_id = f.id WHERE d.name = 'b.txt' ORDER BY f.form_index")
    assert copies == [(ids[0], "approved", "alice"), (ids[1], "approved", "alice")]  # the review stands as it was
    assert {i["document"] for i in Review(out).queue()} == {"a.txt"}


@pytest.mark.slow
def test_an_edit_to_a_form_of_a_superseded_version_is_refused_with_the_current_form_named(tmp_path):
    """The reviewer's item 2: carol approves a form of a version a rerun has just replaced."""
    docs, out = tmp_path / "s3", tmp_path / "o6"
    docs.mkdir()
    shutil.copy(SEEDS[1], docs / "doc.txt")
    assert run_cli("run", docs, "--out", out).returncode == 0
    ids = dict(query(out, "SELECT project_name, id FROM forms"))
    reviewed = ids["党群中心专项经费"]
    _approve_name(out, reviewed, "REVIEWED")
    app = TestClient(review_app(out, "carol"))
    page = app.get("/forms/1").text  # opened before the rerun
    token = re.search(r'name="csrf" content="([^"]+)"', page).group(1)
    _append(docs / "doc.txt", "edit\n")
    assert run_cli("run", docs, "--out", out).returncode == 0
    audit = _audit(out)
    with pytest.raises(SupersededForm, match="newer one replaced") as refused:
        Review(out, "carol").apply(1, {"project_name": "CAROL_FIX"}, "approve", 0)
    assert refused.value.current is None and refused.value.document == "doc.txt"
    assert query(out, "SELECT record FROM forms WHERE id = 1")[0][0].count("CAROL_FIX") == 0
    assert _audit(out) == audit and query(out, "SELECT COUNT(*) FROM reviews WHERE form_id = 1") == [(0,)]
    # A reviewed form's new version is named: its edit goes there.
    (current,) = [i["id"] for i in Review(out).queue() if i["project_name"] == "REVIEWED"]
    with pytest.raises(SupersededForm) as refused:
        Review(out, "carol").apply(reviewed, {"project_name": "LATE"}, "approve", 1)
    assert refused.value.current == current
    # The web app says so: 409, bilingual, a link to the current version.
    for form_id, link in ((1, "/?document=doc.txt"), (reviewed, f"/forms/{current}")):
        version = Review(out).form(form_id)[2]
        answer = app.post(f"/forms/{form_id}", data={"csrf": token, "version": str(version), "action": "approve",
                                                     "project_name": "CAROL_FIX"})
        assert answer.status_code == 409 and "此表所在文件已有新版本" in answer.text and "newer one replaced" in answer.text
        assert f"id='current' href='{link}'" in answer.text
    assert _audit(out) == audit
    page = app.get(f"/forms/{reviewed}").text
    assert 'id="superseded"' in page and f'href="/forms/{current}"' in page and "edits here are refused" in page


# --- stores of earlier layouts, run from another working directory ---------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("commit", ["ea110f1", "58a0ade"])  # layout 1 (no user_version), layout 2
def test_an_older_store_recognises_its_files_from_another_working_directory(tmp_path, commit):
    old = tmp_path / "old"
    old.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "src/jixiao"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"git archive {commit}: {archive.stderr.decode()[:200]}")
    subprocess.run(["tar", "x", "-C", str(old)], input=archive.stdout, check=True)
    env = {**os.environ, "PYTHONPATH": str(old / "src"), "COLUMNS": "200"}
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "s" / "A").mkdir(parents=True)
    elsewhere.mkdir()
    shutil.copy(SEEDS[0], work / "s" / "A" / "表.txt")
    shutil.copy(SEEDS[1], work / "s" / "doc.txt")
    made = subprocess.run([sys.executable, "-m", "jixiao", "run", "s", "--out", "o"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300)  # the old code, paths relative to work
    assert made.returncode == 0, made.stderr
    reviewer = subprocess.run([sys.executable, "-c", "import sys; from jixiao.review import Review; r = Review('o', 'alice');"
                               " fid = [i for i in r.queue() if i['project_name'] == '党群综合服务'][0]['id'];"
                               " r.apply(fid, {'project_name': 'OLD_FIX'}, 'approve', 0)"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert reviewer.returncode == 0, reviewer.stderr
    out = work / "o"
    rows = query(out, "SELECT COUNT(*) FROM documents")
    assert all(not os.path.isabs(p) for (p,) in query(out, "SELECT path FROM documents"))
    again = run_cli("run", work / "s", "--out", out, cwd=elsewhere)  # the same folder by absolute path
    assert again.returncode == 0, again.stderr
    assert "already belongs to another file" not in again.stderr
    assert query(out, "SELECT COUNT(*) FROM documents") == rows
    assert query(out, "SELECT name, status FROM documents ORDER BY name") == [("A/表.txt", "done"), ("doc.txt", "done")]
    _append(work / "s" / "A" / "表.txt")  # edited: a new version, the old one superseded, its review carried
    edited = run_cli("run", work / "s", "--out", out, cwd=elsewhere)
    assert edited.returncode == 0 and "already belongs" not in edited.stderr and CARRIED in _summary_lines(edited)
    forms = _exported_forms(out, tmp_path)
    assert set(forms) == {"A/表.txt", "doc.txt"}
    assert [f["project_name"] for f in forms["A/表.txt"]] == ["OLD_FIX", "社区自治管理"]


# --- one run at a time ----------------------------------------------------------------------

def _jixiao(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "jixiao", *map(str, args)], text=True,
                            env={**os.environ, "COLUMNS": "200", **(env or {})}, **kw)


@pytest.mark.slow
def test_a_second_run_on_one_out_waits_for_the_first_or_says_why_not(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    for k in range(200):
        for seed in SEEDS:
            (docs / f"{k:03d}_{seed.name}").write_text(seed.read_text(encoding="utf-8") + f"\n<!-- {k} -->\n",
                                                       encoding="utf-8")
    first = _jixiao("run", docs, "--out", out, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while first.poll() is None and time.monotonic() < deadline:
            try:
                if stored(out):
                    break
            except sqlite3.OperationalError:  # not made yet
                pass
            time.sleep(0.01)
        first.send_signal(signal.SIGSTOP)  # mid-run, holding the store
        assert first.poll() is None and len(stored(out)) < 200 * 21
        refused = _jixiao("run", docs, "--out", out, env={"JIXIAO_LOCK_WAIT": "0"}, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
        _, err = refused.communicate(timeout=120)
        assert refused.returncode != 0 and "another `jixiao run` is writing to this output folder" in err, err
        waiting = subprocess.Popen(
            [sys.executable, "-c", "import sys; from jixiao.batch import run_batch; "
             "print(run_batch([sys.argv[1]], sys.argv[2]).model_dump_json())", str(docs), str(out)],
            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "JIXIAO_LOCK_WAIT": "600"})
        assert "waiting up to 600 s" in waiting.stderr.readline()
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0
    out_text, _ = waiting.communicate(timeout=300)
    summary = json.loads(out_text)
    assert (summary["done"], summary["skipped"]) == (0, 800)  # it waited, then found everything done
    assert len(stored(out)) == 200 * 21 and len(set(stored(out))) == 200 * 21


# --- a store of the first layout --------------------------------------------------------------

FIRST_LAYOUT = """
CREATE TABLE documents (id INTEGER PRIMARY KEY, content_hash TEXT NOT NULL, name TEXT NOT NULL, path TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'partial', 'failed', 'duplicate', 'superseded')), error TEXT,
    text TEXT, duplicate_of INTEGER REFERENCES documents(id), forms INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE UNIQUE INDEX documents_by_hash_and_name ON documents(content_hash, name);
CREATE TABLE forms (id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    form_index INTEGER NOT NULL, kind TEXT NOT NULL, project_name TEXT, backend TEXT, confidence REAL, route TEXT,
    error TEXT, record TEXT NOT NULL, UNIQUE (document_id, form_index));
CREATE TABLE findings (form_id INTEGER NOT NULL REFERENCES forms(id) ON DELETE CASCADE, code TEXT NOT NULL,
    severity TEXT NOT NULL, triage TEXT, message TEXT NOT NULL, fields TEXT NOT NULL);
CREATE TABLE reviews (form_id INTEGER PRIMARY KEY REFERENCES forms(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'saved', 'approved', 'rejected')),
    version INTEGER NOT NULL DEFAULT 0, reviewer TEXT, updated_at TEXT NOT NULL DEFAULT (datetime('now')));
CREATE TABLE audit (id INTEGER PRIMARY KEY, form_id INTEGER NOT NULL REFERENCES forms(id) ON DELETE CASCADE,
    reviewer TEXT NOT NULL, at TEXT NOT NULL DEFAULT (datetime('now')), action TEXT NOT NULL, field TEXT,
    before TEXT, after TEXT);
CREATE TABLE usage (document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    requests INTEGER NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL);
"""
OLD_TABLES = ("documents", "forms", "findings", "reviews", "audit", "usage")


@pytest.mark.slow
def test_a_store_of_the_first_layout_is_upgraded_without_losing_a_row(tmp_path):
    docs = two_folders(tmp_path)
    # The rows the first version wrote: reviewed forms, each document under its bare name,
    # and one of the two superseded by the other (the bug this layout had).
    run_batch([docs], tmp_path / "made")
    review = Review(tmp_path / "made", "张三")
    reviewed = review.queue()[0]["id"]
    review.apply(reviewed, {"grade": "良"}, "approve", 0)
    review.close()
    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / DB_NAME)
    db.executescript(FIRST_LAYOUT)
    db.execute("ATTACH ? AS made", (str(tmp_path / "made" / DB_NAME),))
    for table in OLD_TABLES:
        columns = ", ".join(r[1] for r in db.execute(f"PRAGMA table_info({table})"))
        db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM made.{table}")
    db.execute("UPDATE documents SET name = '自评表.txt', path = ? || '/' || name", (str(docs),))
    db.execute("UPDATE documents SET status = 'superseded' WHERE id = (SELECT document_id FROM forms WHERE id = ?)",
               (reviewed,))
    db.commit()
    db.execute("DETACH made")
    counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in OLD_TABLES}
    db.close()
    audit = _audit(old)

    result = run_cli("run", docs, "--out", old)
    assert result.returncode == 0, result.stderr
    assert query(old, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert {t: query(old, f"SELECT COUNT(*) FROM {t}")[0][0] for t in OLD_TABLES} == counts
    assert query(old, "SELECT name, status FROM documents ORDER BY name") == [
        ("A/自评表.txt", "done"), ("B/自评表.txt", "done")]  # taken over, not read as new documents
    assert _audit(old) == audit
    assert Review(old).form(reviewed)[0].grade == "良"
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        query(old, "DELETE FROM audit")
    # Nothing cascades any more: deleting a document (or a form) with reviews is refused,
    # and the review and audit stay.
    for table in ("forms", "reviews", "audit", "readings"):
        assert all(fk[6] != "CASCADE" for fk in query(old, f"PRAGMA foreign_key_list({table})")), table
    db = sqlite3.connect(old / DB_NAME)
    db.execute("PRAGMA foreign_keys=ON")
    (doc_id,) = db.execute("SELECT document_id FROM forms WHERE id = ?", (reviewed,)).fetchone()
    for sql, arg in (("DELETE FROM documents WHERE id = ?", doc_id), ("DELETE FROM forms WHERE id = ?", reviewed)):
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            db.execute(sql, (arg,))
    db.close()
    assert _audit(old) == audit and query(old, "SELECT status FROM reviews WHERE form_id = ?", reviewed) == [("approved",)]


def test_a_store_of_the_second_layout_gains_the_new_columns_and_keeps_every_row(tmp_path):
    docs, out = two_folders(tmp_path), tmp_path / "out"
    run_batch([docs], out)
    db = sqlite3.connect(out / DB_NAME)
    db.execute("DROP INDEX documents_by_resolved")
    db.execute("ALTER TABLE documents DROP COLUMN resolved")
    db.execute("ALTER TABLE forms DROP COLUMN carried_from")
    db.execute("ALTER TABLE forms DROP COLUMN review_stamp")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    forms = query(out, "SELECT COUNT(*) FROM forms")
    summary = run_batch([docs], out)
    assert (summary.done, summary.skipped) == (0, 2)
    assert query(out, "PRAGMA user_version") == [(SCHEMA_VERSION,)] and query(out, "SELECT COUNT(*) FROM forms") == forms
    assert query(out, "SELECT COUNT(*) FROM batch_jobs") == [(0,)]  # layout 5's tables, added empty
    assert query(out, "SELECT resolved FROM documents ORDER BY name") == [
        (str((docs / "A" / "自评表.txt").resolve()),), (str((docs / "B" / "自评表.txt").resolve()),)]


def test_jixiao_review_refuses_a_store_a_newer_jixiao_wrote_as_an_error_before_serving(tmp_path):
    # An older jixiao meeting a newer one's store (as a layout 5 jixiao meets this one's) must
    # refuse it unchanged and say what to do: `review` said so only as a traceback, after
    # printing the address to open.
    import conftest

    docs, out = two_folders(tmp_path), tmp_path / "out"
    run_batch([docs], out)
    query(out, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    result = conftest.run_cli(["review", str(out)], env={"COLUMNS": "200"})
    assert result.returncode == 1 and "review at" not in result.stderr, result.stderr
    assert "this store was written by a newer jixiao" in result.stderr and "更新版本的 jixiao" in result.stderr
    assert query(out, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    missing = conftest.run_cli(["review", str(tmp_path / "nothing")], env={"COLUMNS": "200"})
    assert missing.returncode == 1 and "jixiao run" in missing.stderr and not (tmp_path / "nothing").exists()


@pytest.mark.slow
def test_a_lock_wait_that_is_not_a_number_is_a_config_error(tmp_path):
    docs = two_folders(tmp_path)
    for bad in ("abc", "-1", "nan"):
        result = subprocess.run([sys.executable, "-m", "jixiao", "run", str(docs), "--out", str(tmp_path / "out")],
                                capture_output=True, text=True, timeout=120,
                                env={**os.environ, "COLUMNS": "200", "JIXIAO_LOCK_WAIT": bad})
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert f"JIXIAO_LOCK_WAIT='{bad}'" in result.stderr and "must be the seconds to wait" in result.stderr
