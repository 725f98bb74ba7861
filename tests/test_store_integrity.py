"""The store keeps every document and every reviewer's work: documents are known by their
relative path, a re-read never deletes a review or an audit row, one run writes to a store at
a time, and a store of the first layout is upgraded without losing a row. Real files, real
runs (CLI in subprocesses), two real processes for the lock."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from starlette.testclient import TestClient

from conftest import SEEDS
from jixiao.backends import get_backend
from jixiao.batch import run_batch
from jixiao.pipeline import extract_document
from jixiao.review import Review
from jixiao.store import DB_NAME
from jixiao.testing import Fault, FakeOpenAI, gold_answerer
from jixiao.webapp import create_app
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


def test_the_same_relative_path_from_two_inputs_is_refused_by_name_not_superseded(tmp_path):
    for folder, seed in (("x", SEEDS[0]), ("y", SEEDS[1])):
        (tmp_path / folder).mkdir()
        shutil.copy(seed, tmp_path / folder / "表.txt")
    result = run_cli("run", tmp_path / "x", tmp_path / "y", "--out", tmp_path / "out")
    assert result.returncode == 1
    assert "same relative path 表.txt" in result.stderr and "common parent folder" in result.stderr
    assert query(tmp_path / "out", "SELECT name, status FROM documents") == [("表.txt", "done")]


# --- item 2: a re-read never deletes reviewers' work -------------------------------------------

def _audit(out):
    return query(out, "SELECT form_id, reviewer, action, field, before, after FROM audit ORDER BY id")


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
    page = TestClient(create_app(out)).get(f"/forms/{failed_id}").text
    assert "新的机器读取" in page and 'data-path="project_name" data-value="党群综合服务"' in page
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        query(out, "DELETE FROM audit")


def test_a_file_reverted_to_reviewed_content_keeps_its_review(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / "表.txt")
    assert run_cli("run", docs, "--out", out).returncode == 0
    review = Review(out, "王五")
    form_id = review.queue()[0]["id"]
    review.apply(form_id, {"grade": "良"}, "approve", 0)
    before = _audit(out)
    shutil.copy(SEEDS[1], docs / "表.txt")  # edited…
    assert run_cli("run", docs, "--out", out).returncode == 0
    shutil.copy(SEEDS[0], docs / "表.txt")  # …and put back: read again
    assert run_cli("run", docs, "--out", out).returncode == 0
    assert _audit(out) == before
    assert Review(out).form(form_id)[0].grade == "良" and Review(out).form(form_id)[3] == "approved"
    assert query(out, "SELECT status FROM documents ORDER BY id") == [("done",), ("superseded",)]


# --- one run at a time ----------------------------------------------------------------------

def _jixiao(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "jixiao", *map(str, args)], text=True,
                            env={**os.environ, "COLUMNS": "200", **(env or {})}, **kw)


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
        db.execute(f"INSERT INTO {table} SELECT * FROM made.{table}")
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
    assert query(old, "PRAGMA user_version") == [(2,)]
    assert {t: query(old, f"SELECT COUNT(*) FROM {t}")[0][0] for t in OLD_TABLES} == counts
    assert query(old, "SELECT name, status FROM documents ORDER BY name") == [
        ("A/自评表.txt", "done"), ("B/自评表.txt", "done")]  # taken over, not read as new documents
    assert _audit(old) == audit
    assert Review(old).form(reviewed)[0].grade == "良"
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        query(old, "DELETE FROM audit")
