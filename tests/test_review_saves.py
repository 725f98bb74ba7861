"""A reviewer's save is one write transaction, taken before the form's version is read
(BEGIN IMMEDIATE, store/reviews.py): another save of the same form cannot slip in between the
check and the write, and a save that fails half-way leaves no trace (record, findings, audit
rows, review status and version as they were)."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from conftest import SEEDS
from jixiao.batch import run_batch
from jixiao.errors import StaleEdit
from jixiao.review import Review


@pytest.fixture
def store(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEEDS[0], docs / SEEDS[0].name)
    run_batch([docs], tmp_path / "out")
    return tmp_path / "out"


def _kept(review: Review, form_id: int) -> tuple:
    """What a save writes: the form's row, its findings, the audit rows, its review."""
    db = review.store.db
    return (db.execute("SELECT record, confidence, route, project_name, review_stamp FROM forms WHERE id = ?",
                       (form_id,)).fetchall(),
            db.execute("SELECT * FROM findings WHERE form_id = ? ORDER BY rowid", (form_id,)).fetchall(),
            db.execute("SELECT * FROM audit ORDER BY id").fetchall(),
            db.execute("SELECT form_id, status, version, reviewer FROM reviews ORDER BY form_id").fetchall())


def test_a_save_holds_the_write_lock_from_its_version_check_to_its_commit(store):
    alice, bob = Review(store, "alice"), Review(store, "bob")
    form_id = alice.queue()[0]["id"]
    bob.store.db.execute("PRAGMA busy_timeout = 50")  # bob's save gives up at once, not after 30 s
    tried = []

    def bob_saves_meanwhile(sql: str) -> None:
        # Alice's transaction is open and about to read the version: Bob, who opened the same
        # version of the page, saves now.
        if "MAX(version)" in sql and not tried:
            try:
                bob.apply(form_id, {"project_name": "BOB"}, "approve", 0)
                tried.append("saved")
            except sqlite3.OperationalError as exc:
                tried.append(str(exc))

    alice.store.db.set_trace_callback(bob_saves_meanwhile)
    try:
        assert alice.apply(form_id, {"project_name": "ALICE"}, "approve", 0) == 1
    finally:
        alice.store.db.set_trace_callback(None)
    assert tried == ["database is locked"]  # waited for Alice's commit (here: gave up), never between
    form, _, version, status = bob.form(form_id)
    assert (form.project_name, version, status) == ("ALICE", 1, "approved")
    with pytest.raises(StaleEdit):  # Bob again, after her commit: his page is stale
        bob.apply(form_id, {"project_name": "BOB"}, "approve", 0)
    assert [(a["reviewer"], a["action"]) for a in alice.audit(form_id)] == [("alice", "edit"), ("alice", "approve")]


def test_a_save_that_fails_at_its_last_write_leaves_nothing(store):
    review = Review(store, "alice")
    form_id = review.queue()[0]["id"]
    before = _kept(review, form_id)
    # The last statement of a save (its review row) fails, after the record, findings and
    # audit rows were written: e.g. a full disk. A trigger on this connection only.
    review.store.db.execute("CREATE TEMP TRIGGER fail_review BEFORE INSERT ON reviews"
                            " BEGIN SELECT RAISE(ABORT, 'disk full'); END")
    with pytest.raises(sqlite3.DatabaseError, match="disk full"):
        review.apply(form_id, {"project_name": "HALF", "total_score": 1}, "approve", 0)
    assert _kept(review, form_id) == before
    review.store.db.execute("DROP TRIGGER fail_review")
    # The version did not move: the same page saves now.
    assert review.apply(form_id, {"project_name": "WHOLE"}, "approve", 0) == 1
    assert review.form(form_id)[0].project_name == "WHOLE"
