"""The batch store: one SQLite database (WAL) per output folder.

A document is its path relative to the input it came from (`A/自评表.txt`), and its
content hash says which version of that file was read: a re-run skips what is finished,
a file edited in place supersedes its earlier version, and a copy at another path is
recognised. Only the same file (its resolved absolute path, kept in `resolved`) supersedes:
another file arriving with a relative path a live document already has is kept beside it
under a longer name (`B/自评表.txt`), never over it. Everything about one document is written in one transaction: after a crash
(even kill -9) a document is either wholly there or not at all. Reviewers' work is never
deleted: audit rows refuse deletion, and a form a reviewer saved, approved or rejected
keeps its record when the document is read again (the new reading is kept beside it); when
a new version of the file supersedes it, the reviewed record is carried to the form of the
new version it matches by content (carry.py: kind and project name, never position alone;
`carried_from`) and goes back to the queue with the new reading beside it; a reviewed form
with no counterpart is kept for review under a negative form index, in no export. The
tables and the upgrade of older stores are in layout.py, what review reads and writes in
reviews.py (part of `Store`). Every query and transaction of jixiao is in this package
(tests/test_sql_owner.py). The file is an ordinary SQLite database: query it with sqlite3,
or browse it with datasette."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import TypeAdapter

from . import carry
from ..errors import ConfigError, NotAStore
from .layout import _Transaction, _upgrade, _where
from .reviews import ReviewTables
from ..route import DEFAULT_THRESHOLD
from ..schema import DocumentRecord, Form, FormSource, Route, Span

DB_NAME = "jixiao.sqlite"
LOCK_NAME = "jixiao.lock"
FORM = TypeAdapter(Form)
CHANGED_FILE = "文件在复核后改动过：保留复核结果，新读取结果待复核 / the file changed after review: the reviewed record is kept, the new reading awaits review"
NO_COUNTERPART = ("文件改动后找不到对应的表：复核结果保留待处理，不导出 / reviewed form with no counterpart in the changed file: "
                  "kept for review, not exported")

@dataclass
class Saved:
    """What saving a document did with reviewers' work: the form indexes given a reviewed
    record back for review (`carried`) or as it stood (`kept`, identical content), the
    reviewed forms kept for review with no counterpart (`strays`, by name), and the earlier
    forms whose older review a newer one on this version outranked (`left`, by id)."""

    carried: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    strays: list[str] = field(default_factory=list)
    left: list[int] = field(default_factory=list)


class StoreBusy(ConfigError):
    """Another `jixiao run` is writing to the same output folder."""


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (a large file is never held whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def run_lock(folder: str | Path, wait: float, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the output folder's run lock: one `jixiao run` writes to a store at a time. Waits
    up to `wait` seconds (telling `waiting` once), then raises StoreBusy. The lock is the
    kernel's, so a killed run never leaves it held."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / LOCK_NAME).open("a+b")
    except OSError as exc:
        raise _unwritable(folder, exc) from None
    deadline = time.monotonic() + max(0.0, wait)
    try:
        while not _try_lock(handle):
            if time.monotonic() >= deadline:
                raise StoreBusy(f"{folder}: 另一个 jixiao run 正在写入此输出文件夹，已等待 {wait:g} 秒 / another "
                                f"`jixiao run` is writing to this output folder (waited {wait:g} s): let it "
                                "finish, or use another --out")
            if waiting:
                waiting()
                waiting = None
            time.sleep(0.2)
        _HELD.add(handle)
        yield
    finally:
        _HELD.discard(handle)
        handle.close()  # closing the file releases the lock


# Run locks this process holds. A forked worker process closes its copies at once: a lock
# lives while any copy of its file is open, and a worker outliving a killed run must not
# keep the next run waiting.
_HELD: set = set()


def _close_held_locks() -> None:
    for handle in list(_HELD):
        handle.close()
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_locks)


def _unwritable(folder: Path, exc: Exception) -> ConfigError:
    return ConfigError(f"{folder}: 无法写入输出文件夹 / cannot write to the output folder ({exc}); "
                       "choose a folder you can write to")


def _try_lock(handle) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def require_store(folder: str | Path) -> None:
    """NotAStore unless `folder` holds a run's store."""
    if not (Path(folder) / DB_NAME).is_file():
        raise NotAStore(f"{folder}: 不是 jixiao run 的输出文件夹 / no {DB_NAME} here: run `jixiao run ... --out {folder}`")


class Store(ReviewTables):
    """The batch database in `folder`, created (or brought up to this layout) if need be."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.folder / DB_NAME, isolation_level=None, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL keeps every commit safe from a killed process (only a power cut
            # can lose the last commits) without an fsync per document.
            self.db.execute("PRAGMA synchronous=NORMAL")
            _upgrade(self.db, self.folder)
            self.db.execute("PRAGMA foreign_keys=ON")
        except (OSError, sqlite3.OperationalError) as exc:
            raise _unwritable(self.folder, exc) from None

    @classmethod
    def existing(cls, folder: str | Path) -> Store:
        """The store a run wrote in `folder`; NotAStore when there is none (never a new, empty one)."""
        require_store(folder)
        return cls(folder)

    def close(self) -> None:
        self.db.close()

    def identity(self, key: str, path: Path, root_name: str, taken: dict[str, str],
                 digest: str | None = None) -> tuple[str, str | None]:
        """The name this file is known by in the store, and the relative path it could not
        have (None when it has its own). The same file (same resolved path) keeps the name it
        has; a file whose relative path a live document from another file already has (read
        on another run, or earlier in this one: `taken`, name → resolved path) is named by its
        input root and relative path (`B/自评表.txt`), or failing that by its resolved path."""
        where = _where(path)
        name = self._known_as(key, path, where, digest)
        candidates = ([name] if name else []) + [key, f"{root_name}/{key}" if root_name else key, Path(where).as_posix()]
        for candidate in dict.fromkeys(candidates):
            if taken.get(candidate, where) == where and (candidate == name or not self._used_by_other(candidate, where)):
                taken[candidate] = where
                return candidate, None if candidate in (key, name) else key
        taken[where] = where  # every shorter name is taken: its resolved path is its own
        return where, key

    def _known_as(self, key: str, path: Path, where: str, digest: str | None = None) -> str | None:
        """The name the store already has for this file, if any: a file keeps its name, however
        it is given later (its folder, its parent's, or itself). A row of an earlier layout
        with no resolved path is claimed when its path resolves here, and one keyed by the bare
        file name (the first layout's identity) is taken over by its relative path.

        Earlier layouts kept the path as given, so a relative one says nothing from another
        working directory. Rows kept under one such path ending in this file's relative path
        are one file: claimed when one of them has this content (`digest`), or, when none has
        and no other such path is in the store, as the earlier versions of this file (the new
        content supersedes them and their reviews are carried). Two such paths with neither
        holding this content are left alone: which one this file is cannot be told."""
        bare, parts = Path(key).name, Path(key).parts
        rows = self.db.execute("SELECT id, name, path, content_hash FROM documents WHERE resolved IS NULL"
                               " AND name IN (?, ?)", (key, bare)).fetchall()
        places: dict[str, list[tuple]] = {}
        for row in rows:
            stored = row[2]
            if not os.path.isabs(stored) and Path(os.path.normpath(stored)).parts[-len(parts):] == parts:
                places.setdefault(os.path.normpath(stored), []).append(row)
        same = [p for p, group in places.items() if digest and any(r[3] == digest for r in group)]
        claimed = {r[0] for p in (same or (list(places) if len(places) == 1 else [])) for r in places[p]}
        for row_id, name, stored, _ in rows:
            if row_id in claimed or _where(Path(stored)) == where:
                if name != key and not self._used_by_other(key, where) and not self.db.execute(
                        "SELECT 1 FROM documents WHERE name = ? AND content_hash = (SELECT content_hash FROM documents"
                        " WHERE id = ?)", (key, row_id)).fetchone():
                    name = key
                self.db.execute("UPDATE documents SET resolved = ?, name = ? WHERE id = ?", (where, name, row_id))
        row = self.db.execute("SELECT name FROM documents WHERE resolved = ? ORDER BY name = ? DESC,"
                              " status = 'superseded', id DESC LIMIT 1", (where, key)).fetchone()
        return row[0] if row else None

    def _used_by_other(self, name: str, where: str) -> bool:
        """A live document (any status but superseded) of this name read from another file."""
        return self.db.execute("SELECT 1 FROM documents WHERE name = ? AND status != 'superseded'"
                               " AND (resolved IS NULL OR resolved != ?) LIMIT 1", (name, where)).fetchone() is not None

    def status(self, digest: str, key: str, path: Path | None = None) -> tuple[str, int] | None:
        """(status, id) of this content under this name, if the store has it."""
        row = self.db.execute("SELECT status, id FROM documents WHERE content_hash = ? AND name = ?",
                              (digest, key)).fetchone()
        return (row[0], row[1]) if row else None

    def done_elsewhere(self, digest: str, key: str) -> tuple[int, str] | None:
        """A finished document with the same content under another name."""
        row = self.db.execute("SELECT id, name FROM documents WHERE content_hash = ? AND name != ?"
                              " AND status IN ('done', 'partial')"
                              " ORDER BY id LIMIT 1", (digest, key)).fetchone()
        return (row[0], row[1]) if row else None

    def orphaned_duplicates(self) -> list[tuple[str, str, str | None, str]]:
        """(name, path, resolved path, content hash) of each duplicate whose content no live
        document holds any more (its original was superseded by a new version, or failed):
        it must be read again, or its forms are in no export. Duplicates whose original went
        but that another live document matches are pointed at that one instead."""
        self.db.execute(
            "UPDATE documents SET duplicate_of = (SELECT o.id FROM documents o WHERE o.content_hash = documents.content_hash"
            " AND o.status IN ('done', 'partial') ORDER BY o.id LIMIT 1) WHERE status = 'duplicate'"
            " AND EXISTS (SELECT 1 FROM documents o WHERE o.content_hash = documents.content_hash"
            " AND o.status IN ('done', 'partial')) AND (duplicate_of IS NULL OR duplicate_of NOT IN"
            " (SELECT id FROM documents WHERE status IN ('done', 'partial')))")
        return self.db.execute(
            "SELECT name, path, resolved, content_hash FROM documents d WHERE status = 'duplicate' AND NOT EXISTS"
            " (SELECT 1 FROM documents o WHERE o.content_hash = d.content_hash AND o.status IN ('done', 'partial'))"
            " ORDER BY name, id").fetchall()

    def save(self, digest: str, key: str, path: Path, record: DocumentRecord, text: str | None = None,
             recheck: Callable[[Form], Form] | None = None) -> Saved:
        """A read document (with its cleaned text, for review) and all its forms, findings and
        usage, in one transaction. A document some of whose forms failed is `partial`: its
        good forms are kept, and --retry-failed reads it again. An earlier version of the same
        file (same name, same resolved path, other content) is superseded. Read again, a form
        no reviewer has taken is replaced (removed, when the new reading has fewer forms: its id
        goes to `dropped_forms`); a reviewed one keeps its record, the new reading kept beside
        it (see carry.py for which reviewed form goes where).

        The reviewed forms of a superseded version are carried forward, each to the new form
        it matches by content: the reviewed record is kept and exported in that form's place,
        rechecked against the new text by `recheck`, the new machine reading goes to
        `readings`, and the form goes back to the queue (`carried_from` links the earlier
        form and its audit). Where this row's form has a review of its own (a file put back),
        the newest review wins. A reviewed form with no counterpart is kept on the new version
        for review under a negative form index: in the queue, in no export. A copy read in
        place of its superseded original takes the reviews of that identical content as they
        stand."""
        failed = [f for f in record.forms if f.error]
        status = "partial" if failed else "done"
        error = f"{len(failed)} of {len(record.forms)} forms failed: {failed[0].error}" if failed else None
        where, saved = _where(path), Saved()
        with self._transaction():
            earlier = [i for (i,) in self.db.execute(
                "SELECT id FROM documents WHERE name = ? AND content_hash != ? AND status != 'superseded'"
                " AND resolved = ? ORDER BY id DESC", (key, digest, where))]
            was = self.db.execute("SELECT status, duplicate_of FROM documents WHERE content_hash = ? AND name = ?",
                                  (digest, key)).fetchone()
            self.db.executemany("UPDATE documents SET status = 'superseded' WHERE id = ?", [(i,) for i in earlier])
            doc_id = self._upsert(digest, key, path, status, error, len(record.forms), keep_read=False)
            self.db.execute("UPDATE documents SET text = ? WHERE id = ?", (text, doc_id))
            same = not earlier and was is not None and was[0] == "duplicate"
            sources = carry.reviewed_forms(self.db, self._originals(digest, was[1]) if same else earlier)
            held = {index: (form_id, bool(reviewed)) for form_id, index, reviewed in self.db.execute(
                f"SELECT f.id, f.form_index, {carry.HOLDS_REVIEW} FROM forms f LEFT JOIN reviews r ON r.form_id = f.id"
                " WHERE f.document_id = ?", (doc_id,))}
            here = {form_id: carry.stamp(self.db, form_id) for form_id, reviewed in held.values() if reviewed}
            # A lineage already on this row, with no newer review since, is represented here.
            sources = [s for s in sources if not any(h in s.chain and s.stamp <= st for h, st in here.items())]
            matched = carry.match(sources, record.forms)
            for form in record.forms:
                index = form.source.form_index if form.source else 0
                form_id, reviewed = held.pop(index, (None, False))
                old = matched.get(index)
                if reviewed and not (old and old.stamp > here[form_id]):
                    self._keep_reading(form_id, form)
                    if old and old.record != self._record(form_id) and form_id not in old.chain:
                        saved.left.append(old.id)
                elif old:
                    self._carry(doc_id, form_id, index, key, form, old, same, recheck)
                    (saved.kept if same else saved.carried).append(index)
                else:
                    self._read_again(doc_id, form_id, index, key, form)
            strays = [s for s in sources if s not in matched.values()]
            for index, (form_id, reviewed) in held.items():  # forms this reading does not have
                if reviewed and index >= 0:  # the same text read as fewer forms: kept for review
                    saved.strays.append(self._name(self._stray(doc_id, key, text, form_id=form_id)))
                elif not reviewed:
                    self.db.execute("INSERT INTO dropped_forms (id, document_id) VALUES (?, ?)", (form_id, doc_id))
                    self.db.execute("DELETE FROM readings WHERE form_id = ?", (form_id,))
                    self.db.execute("DELETE FROM reviews WHERE form_id = ?", (form_id,))
                    self.db.execute("DELETE FROM forms WHERE id = ?", (form_id,))
            for old in strays:
                saved.strays.append(self._name(self._stray(doc_id, key, text, old=old, same=same, recheck=recheck)))
            self.db.execute("UPDATE documents SET forms = (SELECT COUNT(*) FROM forms WHERE document_id = ?"
                            " AND form_index >= 0) WHERE id = ?", (doc_id, doc_id))
            usage = [f.usage for f in record.forms if f.usage is not None]
            if usage:
                # What every reading cost, added up: a re-read is paid for again.
                self.db.execute(
                    "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(document_id) DO UPDATE SET"
                    " requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
                    " completion_tokens = completion_tokens + excluded.completion_tokens",
                    (doc_id, sum(u.requests for u in usage), sum(u.prompt_tokens for u in usage),
                     sum(u.completion_tokens for u in usage)))
        return saved

    def _originals(self, digest: str, of: int | None) -> list[int]:
        """The documents, no longer live, whose identical content a copy is read in place of."""
        return [i for (i,) in self.db.execute(
            "SELECT id FROM documents WHERE content_hash = ? AND status NOT IN ('done', 'partial', 'duplicate')"
            " ORDER BY id = ? DESC, id DESC LIMIT 1", (digest, of))]

    def _carry(self, doc_id: int, form_id: int | None, index: int, key: str, form: Form, old: carry.Reviewed,
               same: bool, recheck: Callable[[Form], Form] | None) -> None:
        """The reviewed record `old` onto this form, the new machine reading beside it. Of
        identical content (`same`) its review stands as it is; otherwise it goes back to the
        queue, rechecked against the new text."""
        reviewed = FORM.validate_python(json.loads(old.record)).model_copy(update={"source": form.source})
        if not same:
            reviewed = _for_review(_on_changed_file(reviewed, recheck), CHANGED_FILE)
        # A form of this version already in the store (a file put back) may have a page open on
        # it, reviewed (its review row's version) or not (version 0, no row yet): either way the
        # carried review moves its version on, so that page cannot save over it.
        version = 0 if form_id is None else 1
        form_id = self._write_form(doc_id, form_id, index, key, reviewed, carried_from=old.id, stamp=old.stamp)
        self._keep_reading(form_id, form)
        # The form's own review (a file put back) yields to the newer one: back to the queue.
        status, reviewer = (old.status, old.reviewer) if same else ("pending", None)
        self.db.execute("INSERT INTO reviews (form_id, status, reviewer, version) VALUES (?, ?, ?, ?) ON CONFLICT(form_id)"
                        " DO UPDATE SET status = excluded.status, version = version + 1, updated_at = datetime('now')",
                        (form_id, status, reviewer, version))

    def _read_again(self, doc_id: int, form_id: int | None, index: int, key: str, form: Form) -> None:
        """An unreviewed form written with this reading (in place when it was read before, as
        --retry-failed does). A changed reading moves its review version on, so a page opened
        on the earlier one cannot save over it (StaleEdit); the same reading (its usage aside:
        a good form of a partial document comes back from the cache) keeps it, as a page of
        the same values has nothing to save over and would be refused for nothing."""
        before = self._record(form_id) if form_id is not None else None
        form_id = self._write_form(doc_id, form_id, index, key, form)
        if before is not None and _reading(before) != _reading(self._record(form_id)):
            self.db.execute("INSERT INTO reviews (form_id, status, version) VALUES (?, 'pending', 1) ON CONFLICT(form_id)"
                            " DO UPDATE SET version = version + 1, updated_at = datetime('now')", (form_id,))

    def _stray(self, doc_id: int, key: str, text: str | None, old: carry.Reviewed | None = None,
               form_id: int | None = None, same: bool = True, recheck: Callable[[Form], Form] | None = None) -> int:
        """A reviewed form with no counterpart in this version, kept on it for review under a
        negative form index (in the queue, in no export). An earlier version's (`old`) of other
        content (not `same`) is rechecked against this one's text, as a carried form is."""
        (index,) = self.db.execute("SELECT MIN(COALESCE(MIN(form_index), 0), 0) - 1 FROM forms WHERE document_id = ?",
                                   (doc_id,)).fetchone()
        kept = FORM.validate_python(json.loads(old.record if old else self._record(form_id)))
        kept = kept.model_copy(update={"field_boxes": {}, "source": FormSource(
            document=key, form_index=index, span=Span(start=0, end=len(text or "")))})
        kept = _for_review(_on_changed_file(kept, recheck) if old and not same else kept, NO_COUNTERPART)
        if old:
            return self._write_form(doc_id, None, index, key, kept, carried_from=old.id, stamp=old.stamp)
        self.db.execute("UPDATE forms SET form_index = ?, route = 'needs_review', record = ? WHERE id = ?",
                        (index, _json(kept), form_id))
        self.db.execute("UPDATE reviews SET status = 'pending', version = version + 1 WHERE form_id = ?", (form_id,))
        return form_id

    def _name(self, form_id: int) -> str:
        (name,) = self.db.execute("SELECT project_name FROM forms WHERE id = ?", (form_id,)).fetchone()
        return f"{name or '?'} (#{form_id})"

    def _record(self, form_id: int) -> str:
        return self.db.execute("SELECT record FROM forms WHERE id = ?", (form_id,)).fetchone()[0]

    def fail(self, digest: str, key: str, path: Path, error: str) -> None:
        with self._transaction():
            self._upsert(digest, key, path, "failed", error, 0)

    def duplicate(self, digest: str, key: str, path: Path, of: int | None, of_name: str) -> None:
        with self._transaction():
            doc_id = self._upsert(digest, key, path, "duplicate", f"same content as {of_name} / 与 {of_name} 内容相同", 0)
            self.db.execute("UPDATE documents SET duplicate_of = ? WHERE id = ? AND status = 'duplicate'", (of, doc_id))

    def _upsert(self, digest: str, key: str, path: Path, status: str, error: str | None, forms: int,
                keep_read: bool = True) -> int:
        """The document's row, updated in place (its forms, reviews and audit keep pointing at
        it). With `keep_read`, a row that holds forms keeps its status and forms: a failed retry
        leaves the earlier reading exported and only records the error."""
        where = _where(path)
        row = self.db.execute("SELECT id, status FROM documents WHERE content_hash = ? AND name = ?",
                              (digest, key)).fetchone()
        if row is None:
            return self.db.execute("INSERT INTO documents (content_hash, name, path, resolved, status, error, forms) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                   (digest, key, str(path), where, status, error, forms)).lastrowid
        if keep_read and row[1] in ("done", "partial"):
            self.db.execute("UPDATE documents SET path = ?, resolved = ?, error = ?, finished_at = datetime('now')"
                            " WHERE id = ?", (str(path), where, f"上次重读失败 / the last re-read failed: {error}", row[0]))
        else:
            self.db.execute("UPDATE documents SET path = ?, resolved = ?, status = ?, error = ?, forms = ?,"
                            " duplicate_of = NULL, finished_at = datetime('now') WHERE id = ?",
                            (str(path), where, status, error, forms, row[0]))
        return row[0]

    def _write_form(self, doc_id: int, form_id: int | None, index: int, key: str, form: Form,
                    carried_from: int | None = None, stamp: int | None = None) -> int:
        if form.source:
            form = form.model_copy(update={"source": form.source.model_copy(update={"document": key})})
        values = (form.kind, form.project_name, form.backend, form.confidence,
                  form.route.decision if form.route else None, form.error, _json(form), carried_from, stamp)
        if form_id is None:
            # SQLite gives a new row the largest id + 1, so a dropped form's id would come back:
            # past it, then (NULL: the usual id).
            form_id = self.db.execute(
                "INSERT INTO forms (id, kind, project_name, backend, confidence, route, error, record, carried_from,"
                " review_stamp, document_id, form_index) VALUES ((SELECT MAX(id) + 1 FROM dropped_forms WHERE id >="
                " (SELECT COALESCE(MAX(id), 0) FROM forms)), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, doc_id, index)).lastrowid
        else:
            self.db.execute("UPDATE forms SET kind = ?, project_name = ?, backend = ?, confidence = ?, route = ?,"
                            " error = ?, record = ?, carried_from = ?, review_stamp = ? WHERE id = ?", (*values, form_id))
            self.db.execute("DELETE FROM findings WHERE form_id = ?", (form_id,))
        self._write_findings(form_id, form)
        return form_id

    def _write_findings(self, form_id: int, form: Form) -> None:
        self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)", [
            (form_id, f.code, f.severity, f.triage, f.message, json.dumps(f.fields, ensure_ascii=False))
            for f in form.findings])

    def _keep_reading(self, form_id: int, form: Form) -> None:
        """A new machine reading of a reviewed form, beside it (unless it is the last one again)."""
        record = _json(form)
        last = self.db.execute("SELECT record FROM readings WHERE form_id = ? ORDER BY id DESC LIMIT 1",
                               (form_id,)).fetchone()
        if last is None or last[0] != record:
            self.db.execute("INSERT INTO readings (form_id, backend, confidence, route, error, record)"
                            " VALUES (?, ?, ?, ?, ?, ?)", (form_id, form.backend, form.confidence,
                                                           form.route.decision if form.route else None,
                                                           form.error, record))

    # --- provider batch jobs (backends/batchjob.py) ---------------------------------------
    def batch_submitted(self, job_id: str, round: int, endpoint: str, model: str, custom_ids: list[str],
                        status: str = "validating") -> None:
        with self._transaction():
            self.db.execute("INSERT INTO batch_jobs (id, round, endpoint, model, status, custom_ids) VALUES "
                            "(?, ?, ?, ?, ?, ?)", (job_id, round, endpoint, model, status, json.dumps(custom_ids)))

    def batch_created(self, pending: str, job_id: str) -> None:
        """The provider's id for a job recorded while it was being submitted."""
        self.db.execute("UPDATE batch_jobs SET id = ?, status = 'validating', updated_at = datetime('now') WHERE id = ?",
                        (job_id, pending))

    def batch_forget(self, pending: str) -> None:
        """A job recorded as being submitted that the provider never created."""
        self.db.execute("DELETE FROM batch_jobs WHERE id = ? AND collected = 0", (pending,))

    def batch_status(self, job_id: str, status: str) -> None:
        self.db.execute("UPDATE batch_jobs SET status = ?, updated_at = datetime('now') WHERE id = ?", (status, job_id))

    def batch_collected(self, job_id: str, status: str, lines: dict[str, str]) -> None:
        """A job's answers, kept with its final status in one transaction."""
        with self._transaction():
            self.db.executemany("INSERT OR REPLACE INTO batch_results VALUES (?, ?, ?)",
                                [(job_id, cid, line) for cid, line in lines.items()])
            self.db.execute("UPDATE batch_jobs SET status = ?, collected = 1, updated_at = datetime('now') "
                            "WHERE id = ?", (status, job_id))

    def open_batch_jobs(self, round: int, endpoint: str, model: str) -> list[tuple[str, list[str]]]:
        """The jobs of this round submitted to this endpoint and model whose answers are not
        yet collected: (id, custom ids), oldest first."""
        rows = self.db.execute("SELECT id, custom_ids FROM batch_jobs WHERE collected = 0 AND round = ? AND "
                               "endpoint = ? AND model = ? ORDER BY submitted_at, rowid", (round, endpoint, model))
        return [(job_id, json.loads(ids)) for job_id, ids in rows.fetchall()]

    def batch_ids(self, job_id: str) -> list[str]:
        """The custom ids of the request lines a job holds."""
        row = self.db.execute("SELECT custom_ids FROM batch_jobs WHERE id = ?", (job_id,)).fetchone()
        return json.loads(row[0]) if row else []

    def batch_answers(self, round: int, endpoint: str, model: str) -> dict[str, str]:
        """Every line collected from this round's jobs at this endpoint and model, by custom id
        (a later job's line over an earlier one's)."""
        rows = self.db.execute("SELECT r.custom_id, r.line FROM batch_results r JOIN batch_jobs j ON j.id = r.job_id "
                               "WHERE j.round = ? AND j.endpoint = ? AND j.model = ? ORDER BY j.submitted_at, j.rowid",
                               (round, endpoint, model))
        return dict(rows.fetchall())

    def batch_drop_answers(self, endpoint: str, model: str, custom_ids: list[str]) -> None:
        """Forget the lines collected for these requests at this endpoint and model (answers that
        proved unusable): the next run asks for them again."""
        self.db.executemany("DELETE FROM batch_results WHERE custom_id = ? AND job_id IN (SELECT id FROM batch_jobs "
                            "WHERE endpoint = ? AND model = ?)", [(cid, endpoint, model) for cid in custom_ids])

    def _transaction(self):
        return _Transaction(self.db)

    # --- reading back ---------------------------------------------------------------------
    def documents(self):
        """(name, status, error) of every document, in the order they were first read."""
        return self.db.execute("SELECT name, status, error FROM documents ORDER BY id").fetchall()

    def records(self):
        """Each finished document's record, one at a time (a large store is never loaded whole).
        `document` is the document's path relative to its input (its bare name when it lay
        directly in the folder given, or was given itself)."""
        docs = self.db.execute("SELECT id, name FROM documents WHERE status IN ('done', 'partial') ORDER BY name, id"
                               ).fetchall()
        for doc_id, name in docs:
            forms = [json.loads(r) for (r,) in self.db.execute(
                "SELECT record FROM forms WHERE document_id = ? AND form_index >= 0 ORDER BY form_index", (doc_id,))]
            yield DocumentRecord.model_validate({"document": name, "forms": forms})


def _json(form: Form) -> str:
    return json.dumps(form.model_dump(mode="json"), ensure_ascii=False)


def _reading(record: str) -> dict:
    """A stored record as a reader of it sees it: what it cost to read left out."""
    return {k: v for k, v in json.loads(record).items() if k != "usage"}


def _on_changed_file(reviewed: Form, recheck: Callable[[Form], Form] | None) -> Form:
    """A reviewed record moved onto a changed file's new version: neither the OCR boxes nor a
    reviewer's confirmations against the old page hold there; rechecked against the new text."""
    reviewed = reviewed.model_copy(update={"field_boxes": {}, "confirmed_by_reviewer": {}})
    return recheck(reviewed) if recheck else reviewed


def _for_review(form: Form, why: str) -> Form:
    """The form sent back to the queue, saying why."""
    threshold = form.route.threshold if form.route else DEFAULT_THRESHOLD
    reasons = [why] + [r for r in (form.route.reasons if form.route else []) if r != why]
    return form.model_copy(update={"route": Route(decision="needs_review", threshold=threshold, reasons=reasons)})
