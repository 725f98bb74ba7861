"""Review: the queue of forms the pipeline was not sure of, edits with an audit trail,
approval, and approved records back out as gold files. The web app (`app.py`) is a thin layer
over this; `worklist.py` counts the queue and approves printed errors together, `explain.py`
says in words why a form is in review, `pages.py` draws a form's pages. All of it serves
review only; the store keeps what review writes (`store/reviews.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from pydantic import TypeAdapter

from ..check import check_form
from ..errors import DroppedForm, InputError, NoSuchForm, StaleEdit
from ..schema import PROVENANCE, Form, format_paths, format_values, value_at
from ..store import Store
from ..validate.indicators import REVIEWER_CONFIRMS
from ..validate.values import Values
from .pages import PageUnavailable, shows_pages

FORM = TypeAdapter(Form)
ACTIONS = ("save", "approve", "reject")


class Review:
    """A run's store, seen by one reviewer."""

    def __init__(self, folder: str | Path, reviewer: str = "reviewer"):
        self.store = Store.existing(folder)
        self.reviewer = reviewer

    def close(self) -> None:
        self.store.close()

    # --- the queue --------------------------------------------------------------------------
    def queue(self, code: str | None = None, document: str | None = None, severity: str | None = None,
              include_done: bool = False) -> list[dict]:
        """Forms needing review, lowest confidence first, with their open findings' counts."""
        return self.store.review_queue(code, document, severity, include_done)

    def facets(self) -> dict:
        """The filter values with their counts: finding codes, documents, severities (of live documents)."""
        return self.store.review_facets()

    # --- one form ------------------------------------------------------------------------
    def form(self, form_id: int) -> tuple[Form, str, int, str]:
        """(record, the form's source text, version, status)."""
        row = self.store.form_under_review(form_id)
        if row is None:
            if document := self.store.dropped_from(form_id):
                raise DroppedForm(form_id, document)
            raise NoSuchForm(f"没有这张表 / no form {form_id}")
        form = FORM.validate_python(json.loads(row[0]))
        return form, _chunk_text(form, row[1]), row[2], row[3]

    def recheck(self, form_id: int, record: dict, confirm: Iterable[str] = ()) -> Form:
        """The findings, confidence and route of an edited record, against the source; with
        the values at the paths in `confirm` confirmed by the reviewer against the page."""
        form, _, _, _ = self.form(form_id)
        text = self.store.document_text(form_id)
        edited = FORM.validate_python({**form.model_dump(mode="json"), **_format_only(record)})
        edited.field_boxes = _boxes_still_read(form, edited)
        edited.confirmed_by_reviewer = _confirmations(form, edited, confirm)
        return check_form(edited, text)

    def apply(self, form_id: int, record: dict, action: str, version: int, confirm: Iterable[str] = ()) -> int:
        """Save (and approve or reject) an edited record; every changed field audit-logged, and
        every value newly confirmed (`confirm`: paths). Refused when the form was saved since
        `version` was read. The new version."""
        if action not in ACTIONS:
            raise InputError(f"未知操作 / unknown action {action!r}")
        before, _, current, _ = self.form(form_id)
        if int(version) != current:
            raise StaleEdit(f"这张表在你打开后已被他人修改或重新读取，请刷新后再改 / form {form_id} changed since you "
                            "opened it (saved by someone else, or read again by a run): reload it and edit again")
        after = self.recheck(form_id, record, confirm)
        changes = [(path, _dump(old), _dump(new)) for path, old, new in _diff(before, after)]
        confirmed = [(path, _dump(value)) for path, value in after.confirmed_by_reviewer.items()
                     if path not in before.confirmed_by_reviewer or before.confirmed_by_reviewer[path] != value]
        status = {"save": "saved", "approve": "approved", "reject": "rejected"}[action]
        return self.store.save_review(form_id, after, changes, action, status, current, self.reviewer, confirmed)

    def audit(self, form_id: int) -> list[dict]:
        """The form's audit log, oldest first, with the logs of the earlier versions' forms
        whose reviewed record it carries (each row says which form it belongs to; `earlier`
        marks those of an earlier version). Audit rows stay with the form they were made on."""
        chain = self.store.earlier_forms(form_id)
        return [{**row, "earlier": row["form_id"] != chain[0]} for row in self.store.audit_rows(chain)]

    def carried(self, form_id: int) -> dict | None:
        """When this form's record is a reviewed record carried from an earlier version of its
        file: that form's id, status and reviewer (the file changed since; the form needs a look)."""
        return self.store.carried_from(form_id)

    def newer_reading(self, form_id: int) -> dict | None:
        """The latest machine reading made after a reviewer took this form (kept beside the
        reviewed record, never written over it), with the fields where it differs; for a form
        carrying the reviewed record of an earlier version of its file, that form (`stray`: one
        with no counterpart in the file, not exported); for a form of a version a newer one
        replaced, where to edit instead (`superseded`)."""
        row = self.store.latest_reading(form_id)
        carried = self.carried(form_id)
        stray, live, name = self.store.form_place(form_id)
        superseded = None if live or not name else {"current": self.store.current_version(form_id),
                                                   "document": self.store.live_document(name)}
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
        source = self.store.source_file(form_id)
        on = sorted({box.page for box in form.field_boxes.values()})
        return list(range(on[0], on[-1] + 1)) if on and source and shows_pages(source[0]) else []

    def page_file(self, form_id: int, page: int) -> tuple[Path, str, str]:
        """(the run's folder, the file, its content hash when read) to draw a page of the form
        from (pages.page_png); only a page the form is on."""
        if page not in self.pages(form_id):
            raise PageUnavailable(f"表 {form_id} 不在第 {page} 页 / form {form_id} is not on page {page}")
        path, digest = self.store.source_file(form_id)
        return self.store.folder, path, digest

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
        rows = self.store.exported_forms()
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


def confirmable(form: Form) -> set[str]:
    """The paths whose value the review page offers to confirm against the page: those an
    open doubt of the kind a person answers so (REVIEWER_CONFIRMS) names."""
    return {p for f in form.findings if f.code in REVIEWER_CONFIRMS and f.severity != "info" for p in f.fields}


def _confirmations(form: Form, edited: Form, confirm: Iterable[str]) -> dict[str, object]:
    """The values a reviewer has confirmed against the page: those confirmed before that the
    edit left as they were (one changed since was not what they confirmed), and those at the
    paths in `confirm` now, of the ones the page offered (a request naming another path
    confirms nothing: no doubt about it was put to the reviewer)."""
    paths = set(format_paths(edited))
    kept = {p: v for p, v in form.confirmed_by_reviewer.items() if p in paths and value_at(edited, p) == v}
    offered = paths & confirmable(form)
    return {**kept, **{p: value_at(edited, p) for p in confirm if p in offered}}


def _boxes_still_read(form: Form, edited: Form) -> dict:
    """The OCR boxes of the fields a reviewer left as read: a value typed in is no longer
    the reader's, and rows added or removed move every row's box."""
    before, after = dict(format_values(form)), dict(format_values(edited))
    rows_moved = len(form.indicators) != len(edited.indicators)
    return {path: box for path, box in edited.field_boxes.items()
            if not (rows_moved and path.startswith("indicators["))
            and all(before.get(p) == after.get(p) for p in after if p == path or p.startswith(path + "."))}
