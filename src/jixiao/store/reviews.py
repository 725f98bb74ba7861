"""The store's queries for review: the queue and its filters, one form with its review,
saving a reviewer's edit with its audit rows in one transaction, where a form's work went
when its file changed, and what gold export and the work list read. Part of `Store`
(the review package holds what a review means; here is only how it is kept)."""

from __future__ import annotations

import json

from ..errors import StaleEdit, SupersededForm
from ..schema import Form
from . import carry

LIVE = "d.status IN ('done', 'partial')"
SENT = "(f.route = 'needs_review' OR f.error IS NOT NULL)"  # sent to review, or failed
OPEN = "COALESCE(r.status, 'pending') IN ('pending', 'saved')"  # not yet approved or rejected
# A form still to review: sent to review (or failed) and not yet approved or rejected.
LEFT = f"{OPEN} AND {SENT}"
# Reviewed whatever its route now: an approved edit may have settled every doubt.
REVIEWED = "r.status IN ('approved', 'rejected')"
MAX_ID = 2**63 - 1  # SQLite's largest row id: a larger one names no form


class ReviewTables:
    """The review side of `Store` (its `db` and `_transaction`)."""

    def review_queue(self, code: str | None = None, document: str | None = None, severity: str | None = None,
                     include_done: bool = False) -> list[dict]:
        """Forms needing review, lowest confidence first, with their open findings' counts."""
        sql = ("SELECT f.id, d.name, f.form_index, f.project_name, f.confidence, f.route, f.error,"
               " COALESCE(r.status, 'pending') FROM forms f JOIN documents d ON d.id = f.document_id"
               f" LEFT JOIN reviews r ON r.form_id = f.id WHERE {SENT} AND {LIVE}")
        args: list = []
        if not include_done:
            sql += f" AND {OPEN}"
        if document:
            sql += " AND d.name = ?"
            args.append(document)
        if code or severity:
            sql += " AND EXISTS (SELECT 1 FROM findings x WHERE x.form_id = f.id"
            if code:
                sql += " AND x.code = ?"
                args.append(code)
            if severity:
                sql += " AND x.severity = ?"
                args.append(severity)
            sql += ")"
        sql += " ORDER BY f.confidence IS NOT NULL, f.confidence, d.name, f.form_index"
        rows = self.db.execute(sql, args).fetchall()
        counts = dict(self.db.execute("SELECT form_id, COUNT(*) FROM findings WHERE severity != 'info' GROUP BY form_id")
                      .fetchall())
        return [{"id": r[0], "document": r[1], "form_index": r[2], "project_name": r[3], "confidence": r[4],
                 "route": r[5], "error": r[6], "status": r[7], "findings": counts.get(r[0], 0)} for r in rows]

    def review_facets(self) -> dict:
        """The filter values with their counts: finding codes, documents, severities; of the
        forms of live documents only (a superseded version's forms are in no queue)."""
        live = f"JOIN forms f ON f.id = x.form_id JOIN documents d ON d.id = f.document_id WHERE {LIVE}"
        return {
            "codes": self.db.execute(f"SELECT code, COUNT(*) FROM findings x {live} GROUP BY code ORDER BY code").fetchall(),
            "documents": self.db.execute("SELECT name, COUNT(*) FROM documents d JOIN forms f ON f.document_id = d.id"
                                         f" WHERE f.route = 'needs_review' AND {LIVE}"
                                         " GROUP BY name ORDER BY name").fetchall(),
            "severities": self.db.execute(f"SELECT severity, COUNT(*) FROM findings x {live} GROUP BY severity"
                                          ).fetchall(),
        }

    def review_progress(self) -> tuple[list[tuple[str, int, int]], list[tuple[str, int]]]:
        """Forms sent to review per live document, (name, reviewed, left); and per finding code
        (info aside), the forms left that have it, most first."""
        rows = self.db.execute(
            f"SELECT d.name, COALESCE(SUM({REVIEWED}), 0), SUM({LEFT}) FROM forms f JOIN documents d"
            f" ON d.id = f.document_id LEFT JOIN reviews r ON r.form_id = f.id WHERE {LIVE} AND ({REVIEWED} OR {LEFT})"
            " GROUP BY d.name ORDER BY d.name").fetchall()
        codes = self.db.execute(
            f"SELECT x.code, COUNT(DISTINCT f.id) FROM findings x JOIN forms f ON f.id = x.form_id JOIN documents d"
            f" ON d.id = f.document_id LEFT JOIN reviews r ON r.form_id = f.id WHERE {LIVE} AND {LEFT}"
            " AND x.severity != 'info' GROUP BY x.code ORDER BY COUNT(DISTINCT f.id) DESC, x.code").fetchall()
        return [tuple(r) for r in rows], [tuple(c) for c in codes]

    def forms_with_printed_errors_only(self) -> set[int]:
        """The forms whose every finding (info aside) is triaged as the form's own printed error."""
        return {i for (i,) in self.db.execute(
            "SELECT form_id FROM findings WHERE severity != 'info' GROUP BY form_id"
            " HAVING SUM(COALESCE(triage, '') != 'source_inconsistency') = 0")}

    def form_under_review(self, form_id: int) -> tuple[str, str | None, int, str] | None:
        """(the form's record as JSON, its document's text, its review version, its review
        status), or None when the store has no such form."""
        if int(form_id) > MAX_ID:
            return None
        row = self.db.execute(
            "SELECT f.record, d.text, COALESCE(r.version, 0), COALESCE(r.status, 'pending') FROM forms f"
            " JOIN documents d ON d.id = f.document_id LEFT JOIN reviews r ON r.form_id = f.id WHERE f.id = ?",
            (int(form_id),)).fetchone()
        return tuple(row) if row else None

    def save_review(self, form_id: int, after: Form, changes: list[tuple[str, str | None, str | None]],
                    action: str, status: str, version: int, reviewer: str,
                    confirmed: list[tuple[str, str | None]] = ()) -> int:
        """A reviewer's edit in one transaction: the record, its findings, an audit row per
        changed field (`changes`: path, before and after as JSON), one per value confirmed
        against the page (`confirmed`: path, value as JSON) and one for `action`, and the
        review's `status`. Refused (StaleEdit) when the form was saved since `version` was
        read, or (SupersededForm) when its document is no longer live. The new version."""
        with self._transaction():
            (current,) = self.db.execute("SELECT COALESCE(MAX(version), 0) FROM reviews WHERE form_id = ?",
                                         (form_id,)).fetchone()
            if current != version:
                raise StaleEdit(f"这张表刚被他人修改或重新读取，请刷新 / form {form_id} was saved by someone else, or read "
                               "again, just now: reload it")
            self._check_live(form_id)
            self.db.execute("UPDATE forms SET record = ?, confidence = ?, route = ?, project_name = ? WHERE id = ?",
                            (json.dumps(after.model_dump(mode="json"), ensure_ascii=False), after.confidence,
                             after.route.decision if after.route else None, after.project_name, form_id))
            self.db.execute("DELETE FROM findings WHERE form_id = ?", (form_id,))
            self._write_findings(form_id, after)
            self.db.executemany("INSERT INTO audit (form_id, reviewer, action, field, before, after) VALUES (?,?,?,?,?,?)",
                                [(form_id, reviewer, "edit", path, old, new) for path, old, new in changes]
                                + [(form_id, reviewer, "confirm", path, None, value) for path, value in confirmed])
            stamp = self.db.execute("INSERT INTO audit (form_id, reviewer, action) VALUES (?, ?, ?)",
                                    (form_id, reviewer, action)).lastrowid
            self.db.execute("UPDATE forms SET review_stamp = ? WHERE id = ?", (stamp, form_id))
            self.db.execute("INSERT INTO reviews (form_id, status, version, reviewer) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT(form_id) DO UPDATE SET status = excluded.status, version = excluded.version,"
                            " reviewer = excluded.reviewer, updated_at = datetime('now')",
                            (form_id, status, version + 1, reviewer))
        return version + 1

    def _check_live(self, form_id: int) -> None:
        """Refuse an edit to a form of a document no longer live (SupersededForm)."""
        live, name = self.form_place(form_id)[1:]
        if not live:
            raise SupersededForm(form_id, self.current_version(form_id), self.live_document(name))

    def dropped_from(self, form_id: int) -> str | None:
        """The name of the document whose re-read removed this form (see dropped_forms), if one did."""
        if int(form_id) > MAX_ID:
            return None
        row = self.db.execute("SELECT d.name FROM dropped_forms x JOIN documents d ON d.id = x.document_id"
                              " WHERE x.id = ?", (int(form_id),)).fetchone()
        return row[0] if row else None

    def form_place(self, form_id: int) -> tuple[bool, bool, str]:
        """(kept with no counterpart in its file: a negative form index, its document live, its
        document's name)."""
        row = self.db.execute(f"SELECT f.form_index < 0, {LIVE}, d.name FROM forms f JOIN documents d"
                              " ON d.id = f.document_id WHERE f.id = ?", (form_id,)).fetchone()
        return (bool(row[0]), bool(row[1]), row[2]) if row else (False, False, "")

    def live_document(self, name: str) -> str | None:
        """The name, when a live document (read and not replaced) holds it."""
        row = self.db.execute(f"SELECT d.name FROM documents d WHERE d.name = ? AND {LIVE}", (name,)).fetchone()
        return row[0] if row else None

    def current_version(self, form_id: int) -> int | None:
        """The form of a live document that carries this form's reviewed record on, if any."""
        seen, todo = set(), [int(form_id)]
        while todo and len(seen) < 1000:
            form = todo.pop(0)
            seen.add(form)
            for later, live in self.db.execute(
                    f"SELECT f.id, {LIVE} FROM forms f JOIN documents d ON d.id = f.document_id"
                    " WHERE f.carried_from = ? ORDER BY f.id DESC", (form,)):
                if live:
                    return later
                if later not in seen:
                    todo.append(later)
        return None

    def earlier_forms(self, form_id: int) -> list[int]:
        """This form, then the earlier versions' forms it carries the reviewed record of."""
        return carry.chain(self.db, form_id)

    def audit_rows(self, form_ids: list[int]) -> list[dict]:
        """The audit rows of these forms, oldest first, each naming its form."""
        marks = ",".join("?" * len(form_ids))
        rows = self.db.execute(f"SELECT reviewer, at, action, field, before, after, form_id FROM audit"
                               f" WHERE form_id IN ({marks}) ORDER BY id", form_ids).fetchall()
        return [dict(zip(("reviewer", "at", "action", "field", "before", "after", "form_id"), r)) for r in rows]

    def carried_from(self, form_id: int) -> dict | None:
        """The earlier version's form whose reviewed record this one carries: its id, review
        status and reviewer."""
        row = self.db.execute(
            "SELECT e.id, COALESCE(r.status, 'pending'), r.reviewer FROM forms f JOIN forms e ON e.id = f.carried_from"
            " LEFT JOIN reviews r ON r.form_id = e.id WHERE f.id = ?", (form_id,)).fetchone()
        return dict(zip(("id", "status", "reviewer"), row)) if row else None

    def latest_reading(self, form_id: int) -> tuple[str, str | None, str] | None:
        """(record as JSON, back-end, when) of the newest machine reading kept beside a reviewed form."""
        row = self.db.execute("SELECT record, backend, read_at FROM readings WHERE form_id = ? ORDER BY id DESC LIMIT 1",
                              (form_id,)).fetchone()
        return tuple(row) if row else None

    def source_file(self, form_id: int) -> tuple[str, str] | None:
        """(the file the form's document was read from, its content hash then)."""
        row = self.db.execute("SELECT COALESCE(d.resolved, d.path), d.content_hash FROM forms f JOIN documents d"
                              " ON d.id = f.document_id WHERE f.id = ?", (form_id,)).fetchone()
        return (row[0], row[1]) if row and row[0] else None

    def document_text(self, form_id: int) -> str:
        """The cleaned text of the form's document ("" when none was kept)."""
        row = self.db.execute("SELECT d.text FROM forms f JOIN documents d ON d.id = f.document_id WHERE f.id = ?",
                              (form_id,)).fetchone()
        return (row[0] if row else None) or ""

    def exported_forms(self) -> list[tuple[str, int, str, str | None, str, str | None]]:
        """(document name, form index, record as JSON, route, review status, document text) of
        every exported form (live documents, non-negative index), by document and index."""
        return self.db.execute(
            "SELECT d.name, f.form_index, f.record, f.route, COALESCE(r.status, 'pending'), d.text FROM forms f"
            " JOIN documents d ON d.id = f.document_id LEFT JOIN reviews r ON r.form_id = f.id"
            f" WHERE {LIVE} AND f.form_index >= 0 ORDER BY d.name, f.form_index").fetchall()
