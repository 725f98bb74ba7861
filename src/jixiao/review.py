"""Review: the queue of forms the pipeline was not sure of, edits with an audit trail,
approval, and approved records back out as gold files. The web app is a thin layer over this."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from pydantic import TypeAdapter

from . import carry
from .errors import InputError, JixiaoError
from .export import open_store
from .pages import PageUnavailable, shows_pages
from .check import check_form
from .schema import PROVENANCE, Form, format_paths, format_values
from .store import Store
from .validate.values import Values

FORM = TypeAdapter(Form)
ACTIONS = ("save", "approve", "reject")


class StaleEdit(JixiaoError):
    """Someone saved the form since this page was opened: the edit is refused, not merged."""


class SupersededForm(StaleEdit):
    """The form's file was read again as a new version since the page was opened: an edit
    here would land on a version no export, queue or later run looks at, so it is refused.
    `current` is the form to edit instead (None: no form of the new version carries this
    one; `document` is then the live document to look in)."""

    def __init__(self, form_id: int, current: int | None, document: str | None):
        self.current, self.document = current, document
        where = (f"请改第 {current} 号表 / edit form {current} instead" if current else
                 f"请在 {document} 的复核队列中找到它 / find it in the queue of {document}" if document else
                 "此文件已不在导出中 / the file is no longer in the export")
        super().__init__(f"此表所在文件已有新版本，修改未保存；{where.split(' / ')[0]} / form {form_id} belongs to a version "
                         f"of its file that a newer one replaced: the edit was not saved; {where.split(' / ')[1]}")


class Review:
    """A run's store, seen by one reviewer."""

    def __init__(self, folder: str | Path, reviewer: str = "reviewer"):
        self.store: Store = open_store(folder)
        self.db = self.store.db
        self.reviewer = reviewer

    def close(self) -> None:
        self.store.close()

    # --- the queue --------------------------------------------------------------------------
    def queue(self, code: str | None = None, document: str | None = None, severity: str | None = None,
              include_done: bool = False) -> list[dict]:
        """Forms needing review, lowest confidence first, with their open findings' counts."""
        sql = ("SELECT f.id, d.name, f.form_index, f.project_name, f.confidence, f.route, f.error,"
               " COALESCE(r.status, 'pending') FROM forms f JOIN documents d ON d.id = f.document_id"
               " LEFT JOIN reviews r ON r.form_id = f.id WHERE (f.route = 'needs_review' OR f.error IS NOT NULL)"
               " AND d.status IN ('done', 'partial')")
        args: list = []
        if not include_done:
            sql += " AND COALESCE(r.status, 'pending') IN ('pending', 'saved')"
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

    def facets(self) -> dict:
        """The filter values with their counts: finding codes, documents, severities; of the
        forms of live documents only (a superseded version's forms are in no queue)."""
        live = ("JOIN forms f ON f.id = x.form_id JOIN documents d ON d.id = f.document_id"
                " WHERE d.status IN ('done', 'partial')")
        return {
            "codes": self.db.execute(f"SELECT code, COUNT(*) FROM findings x {live} GROUP BY code ORDER BY code").fetchall(),
            "documents": self.db.execute("SELECT name, COUNT(*) FROM documents d JOIN forms f ON f.document_id = d.id"
                                         " WHERE f.route = 'needs_review' AND d.status IN ('done', 'partial')"
                                         " GROUP BY name ORDER BY name").fetchall(),
            "severities": self.db.execute(f"SELECT severity, COUNT(*) FROM findings x {live} GROUP BY severity"
                                          ).fetchall(),
        }

    # --- one form ------------------------------------------------------------------------
    def form(self, form_id: int) -> tuple[Form, str, int, str]:
        """(record, the form's source text, version, status)."""
        row = self.db.execute(
            "SELECT f.record, d.text, COALESCE(r.version, 0), COALESCE(r.status, 'pending') FROM forms f"
            " JOIN documents d ON d.id = f.document_id LEFT JOIN reviews r ON r.form_id = f.id WHERE f.id = ?",
            (min(int(form_id), 2**63 - 1),)).fetchone()
        if row is None:
            raise InputError(f"没有这张表 / no form {form_id}")
        form = FORM.validate_python(json.loads(row[0]))
        return form, _chunk_text(form, row[1]), row[2], row[3]

    def recheck(self, form_id: int, record: dict) -> Form:
        """The findings, confidence and route of an edited record, against the source."""
        form, _, _, _ = self.form(form_id)
        text = self._document_text(form_id)
        edited = FORM.validate_python({**form.model_dump(mode="json"), **_format_only(record)})
        edited.field_boxes = _boxes_still_read(form, edited)
        return check_form(edited, text)

    def apply(self, form_id: int, record: dict, action: str, version: int) -> int:
        """Save (and approve or reject) an edited record; every changed field audit-logged.
        Refused when the form was saved since `version` was read. The new version."""
        if action not in ACTIONS:
            raise InputError(f"未知操作 / unknown action {action!r}")
        before, _, current, _ = self.form(form_id)
        if int(version) != current:
            raise StaleEdit(f"这张表已被他人修改，请刷新后再改 / form {form_id} was saved by someone else since you "
                            "opened it: reload it and edit again")
        after = self.recheck(form_id, record)
        changes = _diff(before, after)
        status = {"save": "saved", "approve": "approved", "reject": "rejected"}[action]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            (current_now,) = self.db.execute("SELECT COALESCE(MAX(version), 0) FROM reviews WHERE form_id = ?",
                                             (form_id,)).fetchone()
            if current_now != current:
                raise StaleEdit(f"这张表刚被他人修改，请刷新 / form {form_id} was saved by someone else just now: reload it")
            self._check_live(form_id)
            self.db.execute("UPDATE forms SET record = ?, confidence = ?, route = ?, project_name = ? WHERE id = ?",
                            (json.dumps(after.model_dump(mode="json"), ensure_ascii=False), after.confidence,
                             after.route.decision if after.route else None, after.project_name, form_id))
            self.db.execute("DELETE FROM findings WHERE form_id = ?", (form_id,))
            self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)", [
                (form_id, f.code, f.severity, f.triage, f.message, json.dumps(f.fields, ensure_ascii=False))
                for f in after.findings])
            self.db.executemany("INSERT INTO audit (form_id, reviewer, action, field, before, after) VALUES (?,?,?,?,?,?)",
                                [(form_id, self.reviewer, "edit", path, _dump(old), _dump(new))
                                 for path, old, new in changes])
            stamp = self.db.execute("INSERT INTO audit (form_id, reviewer, action) VALUES (?, ?, ?)",
                                    (form_id, self.reviewer, action)).lastrowid
            self.db.execute("UPDATE forms SET review_stamp = ? WHERE id = ?", (stamp, form_id))
            self.db.execute("INSERT INTO reviews (form_id, status, version, reviewer) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT(form_id) DO UPDATE SET status = excluded.status, version = excluded.version,"
                            " reviewer = excluded.reviewer, updated_at = datetime('now')",
                            (form_id, status, current + 1, self.reviewer))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return current + 1

    def _check_live(self, form_id: int) -> None:
        """Refuse an edit to a form of a document no longer live (SupersededForm)."""
        (status, name) = self.db.execute("SELECT d.status, d.name FROM forms f JOIN documents d ON d.id = f.document_id"
                                         " WHERE f.id = ?", (form_id,)).fetchone()
        if status in ("done", "partial"):
            return
        current = self.current_version(form_id)
        live = self.db.execute("SELECT name FROM documents WHERE name = ? AND status IN ('done', 'partial')",
                               (name,)).fetchone()
        raise SupersededForm(form_id, current, live[0] if live else None)

    def current_version(self, form_id: int) -> int | None:
        """The form of a live document that carries this form's reviewed record on, if any."""
        seen, todo = set(), [int(form_id)]
        while todo and len(seen) < 1000:
            form = todo.pop(0)
            seen.add(form)
            for later, live in self.db.execute(
                    "SELECT f.id, d.status IN ('done', 'partial') FROM forms f JOIN documents d ON d.id = f.document_id"
                    " WHERE f.carried_from = ? ORDER BY f.id DESC", (form,)):
                if live:
                    return later
                if later not in seen:
                    todo.append(later)
        return None

    def audit(self, form_id: int) -> list[dict]:
        """The form's audit log, oldest first, with the logs of the earlier versions' forms
        whose reviewed record it carries (each row says which form it belongs to; `earlier`
        marks those of an earlier version). Audit rows stay with the form they were made on."""
        chain = self.earlier_forms(form_id)
        marks = ",".join("?" * len(chain))
        rows = self.db.execute(f"SELECT reviewer, at, action, field, before, after, form_id FROM audit"
                               f" WHERE form_id IN ({marks}) ORDER BY id", chain).fetchall()
        return [{**dict(zip(("reviewer", "at", "action", "field", "before", "after", "form_id"), r)),
                 "earlier": r[6] != chain[0]} for r in rows]

    def earlier_forms(self, form_id: int) -> list[int]:
        """This form, then the earlier versions' forms it carries the reviewed record of."""
        return carry.chain(self.db, form_id)

    def carried(self, form_id: int) -> dict | None:
        """When this form's record is a reviewed record carried from an earlier version of its
        file: that form's id, status and reviewer (the file changed since; the form needs a look)."""
        row = self.db.execute(
            "SELECT e.id, COALESCE(r.status, 'pending'), r.reviewer FROM forms f JOIN forms e ON e.id = f.carried_from"
            " LEFT JOIN reviews r ON r.form_id = e.id WHERE f.id = ?", (form_id,)).fetchone()
        return dict(zip(("id", "status", "reviewer"), row)) if row else None

    def newer_reading(self, form_id: int) -> dict | None:
        """The latest machine reading made after a reviewer took this form (kept beside the
        reviewed record, never written over it), with the fields where it differs; for a form
        carrying the reviewed record of an earlier version of its file, that form (`stray`: one
        with no counterpart in the file, not exported); for a form of a version a newer one
        replaced, where to edit instead (`superseded`)."""
        row = self.db.execute("SELECT record, backend, read_at FROM readings WHERE form_id = ? ORDER BY id DESC LIMIT 1",
                              (form_id,)).fetchone()
        carried = self.carried(form_id)
        place = self.db.execute("SELECT f.form_index < 0, d.status IN ('done', 'partial'), d.name FROM forms f JOIN"
                                " documents d ON d.id = f.document_id WHERE f.id = ?", (form_id,)).fetchone()
        stray, superseded = bool(place and place[0]), None
        if place and not place[1]:
            live = self.db.execute("SELECT 1 FROM documents WHERE name = ? AND status IN ('done', 'partial')",
                                   (place[2],)).fetchone()
            superseded = {"current": self.current_version(form_id), "document": place[2] if live else None}
        about = {"carried_from": carried, "stray": stray, "superseded": superseded}
        if row is None:
            return {"backend": None, "read_at": None, "error": None, "changes": [], **about} \
                if carried or superseded else None
        current, _, _, _ = self.form(form_id)
        newer = FORM.validate_python(json.loads(row[0]))
        return {"backend": row[1], "read_at": row[2], "error": newer.error, **about, "changes": [
            {"path": path, "current": _dump(old), "newer": _dump(new), "value": "" if new is None else str(new),
             "cell": not path.startswith("indicators (")} for path, old, new in _diff(current, newer)]}

    def next_form(self, after_id: int) -> int | None:
        """The form after this one in the queue (the first, once this one has left it)."""
        ids = [item["id"] for item in self.queue()]
        if after_id in ids:
            position = ids.index(after_id)
            rest = ids[position + 1:] + ids[:position]
            return rest[0] if rest else None
        return ids[0] if ids else None

    # --- the page view ---------------------------------------------------------------------
    def pages(self, form_id: int) -> list[int]:
        """The pages (1-based) a form was printed on, first to last of its boxes, when its file
        is a PDF or a scan; empty for a text source or a form with no boxes."""
        form, _, _, _ = self.form(form_id)
        source = self._source_file(form_id)
        on = sorted({box.page for box in form.field_boxes.values()})
        return list(range(on[0], on[-1] + 1)) if on and source and shows_pages(source[0]) else []

    def page_file(self, form_id: int, page: int) -> tuple[Path, str, str]:
        """(the run's folder, the file, its content hash when read) to draw a page of the form
        from (pages.page_png); only a page the form is on."""
        if page not in self.pages(form_id):
            raise PageUnavailable(f"表 {form_id} 不在第 {page} 页 / form {form_id} is not on page {page}")
        path, digest = self._source_file(form_id)
        return self.store.folder, path, digest

    def _source_file(self, form_id: int) -> tuple[str, str] | None:
        """(the file the form's document was read from, its content hash then)."""
        row = self.db.execute("SELECT COALESCE(d.resolved, d.path), d.content_hash FROM forms f JOIN documents d"
                              " ON d.id = f.document_id WHERE f.id = ?", (form_id,)).fetchone()
        return (row[0], row[1]) if row and row[0] else None

    def _document_text(self, form_id: int) -> str:
        row = self.db.execute("SELECT d.text FROM forms f JOIN documents d ON d.id = f.document_id WHERE f.id = ?",
                              (form_id,)).fetchone()
        return (row[0] if row else None) or ""

    # --- gold -----------------------------------------------------------------------------
    def export_gold(self, to: str | Path) -> list[Path]:
        """Reviewed documents as gold files, `<document-stem>.json`, FORMAT.md fields only (a
        document in a subfolder, `A/自评表.txt`, as `A__自评表.json`). A gold file holds every
        form of its document, so a document is written only once each of its forms is approved
        or was accepted without review (and none was rejected). Beside the forms, `sources`
        holds each form's source text and whether a reviewer approved it: what `--examples`
        needs to show a model a form and its reading (the eval reads `forms` only)."""
        to = Path(to)
        to.mkdir(parents=True, exist_ok=True)
        rows = self.db.execute(
            "SELECT d.name, f.form_index, f.record, f.route, COALESCE(r.status, 'pending'), d.text FROM forms f"
            " JOIN documents d ON d.id = f.document_id LEFT JOIN reviews r ON r.form_id = f.id"
            " WHERE d.status IN ('done', 'partial') AND f.form_index >= 0 ORDER BY d.name, f.form_index").fetchall()
        by_document: dict[str, list] = {}
        for name, _, record, route, status, text in rows:
            by_document.setdefault(name, []).append((FORM.validate_python(json.loads(record)), route, status, text))
        written, stems = [], {}
        self.skipped: list[str] = []
        for name, forms in by_document.items():
            if not any(status == "approved" for _, _, status, _ in forms):
                continue
            if not all(status == "approved" or (status == "pending" and route == "accepted")
                       for _, route, status, _ in forms):
                self.skipped.append(f"{name}: 还有未复核的表 / some of its forms are not approved yet")
                continue
            # A document stored by its resolved path (two files of one relative path and one
            # input root's name) is written under its path's parts, never at that path.
            stem = "__".join(filter(None, (part.strip("/").replace(":", "")
                                            for part in PurePosixPath(name).with_suffix("").parts)))
            if stem in stems:
                self.skipped.append(f"{name}: 与 {stems[stem]} 同名，未写 / same file stem as {stems[stem]}; not written")
                continue
            stems[stem] = name
            gold = [_format_only(form.model_dump(mode="json")) for form, _, _, _ in forms]
            sources = [{"text": _chunk_text(form, text), "reviewed": status == "approved"}
                       for form, _, status, text in forms]
            path = to / f"{stem}.json"
            path.write_text(json.dumps({"document": name, "forms": gold, "sources": sources}, ensure_ascii=False,
                                       indent=1) + "\n", encoding="utf-8")
            written.append(path)
        return written


def _chunk_text(form: Form, text: str | None) -> str:
    """The form's own text within its document's (the whole text when its span is unknown)."""
    text = text or ""
    span = form.source.span if form.source else None
    return text[span.start:span.end] if span and span.end <= len(text) else text


def _format_only(record: dict) -> dict:
    """A record's FORMAT.md fields (what a reviewer edits and what gold holds)."""
    out = {k: v for k, v in record.items() if k not in PROVENANCE}
    if "indicators" in out:
        out["indicators"] = [{k: v for k, v in row.items() if k not in PROVENANCE} for row in out["indicators"] or []]
    return out


def _diff(before: Form, after: Form) -> list[tuple[str, object, object]]:
    old, new = Values(before), Values(after)
    paths = dict.fromkeys(format_paths(before) + format_paths(after))
    changes = [(p, old.get(p), new.get(p)) for p in paths if old.get(p) != new.get(p)]
    if len(before.indicators) != len(after.indicators):
        # Row numbers shift after an added or deleted row; the count change says what happened.
        changes.append(("indicators (rows)", len(before.indicators), len(after.indicators)))
    return changes


def _dump(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _boxes_still_read(form: Form, edited: Form) -> dict:
    """The OCR boxes of the fields a reviewer left as read: a value typed in is no longer
    the reader's, and rows added or removed move every row's box."""
    before, after = dict(format_values(form)), dict(format_values(edited))
    rows_moved = len(form.indicators) != len(edited.indicators)
    return {path: box for path, box in edited.field_boxes.items()
            if not (rows_moved and path.startswith("indicators["))
            and all(before.get(p) == after.get(p) for p in after if p == path or p.startswith(path + "."))}
