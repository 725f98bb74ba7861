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
a new version of the file supersedes it, the reviewed record is carried to the new version's
form (`carried_from`) and goes back to the queue with the new reading beside it.
The file is an ordinary SQLite database: query it with sqlite3, or browse it with datasette."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import TypeAdapter

from .errors import ConfigError
from .route import DEFAULT_THRESHOLD
from .schema import DocumentRecord, Form, FormSource, Route, Span

DB_NAME = "jixiao.sqlite"
LOCK_NAME = "jixiao.lock"
# user_version 0 with tables is the first layout (cascading deletes from documents down to
# the audit); 2 added readings and cut the cascades; 3 is this one (documents.resolved,
# forms.carried_from).
SCHEMA_VERSION = 3
REVIEWED = ("saved", "approved", "rejected")
FORM = TypeAdapter(Form)
CHANGED_FILE = "文件在复核后改动过：保留复核结果，新读取结果待复核 / the file changed after review: the reviewed record is kept, the new reading awaits review"
NO_COUNTERPART = "新版本中没有对应的表：保留复核结果待复核 / the new version of the file has no form here: the reviewed record is kept for review"

# One statement each: the migration runs them inside its own transaction.
TABLES = {
    "documents": """CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL,
    name TEXT NOT NULL,  -- the path relative to the input it came from: the document's identity
    path TEXT NOT NULL,
    resolved TEXT,  -- the file's resolved absolute path: only the same file supersedes
    status TEXT NOT NULL CHECK (status IN ('done', 'partial', 'failed', 'duplicate', 'superseded')),
    error TEXT,
    text TEXT,
    duplicate_of INTEGER REFERENCES documents(id),
    forms INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT NOT NULL DEFAULT (datetime('now'))
)""",
    # No ON DELETE CASCADE below documents: a reviewed form, its review and its audit can
    # only go if someone deletes them on purpose, never as a side effect of a re-read.
    "forms": """CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    form_index INTEGER NOT NULL,
    kind TEXT NOT NULL,
    project_name TEXT,
    backend TEXT,
    confidence REAL,
    route TEXT,
    error TEXT,
    record TEXT NOT NULL,
    carried_from INTEGER REFERENCES forms(id),  -- the earlier version's reviewed form whose record this is
    UNIQUE (document_id, form_index)
)""",
    "findings": """CREATE TABLE {name} (
    form_id INTEGER NOT NULL REFERENCES forms(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    triage TEXT,
    message TEXT NOT NULL,
    fields TEXT NOT NULL
)""",
    "reviews": """CREATE TABLE {name} (
    form_id INTEGER PRIMARY KEY REFERENCES forms(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'saved', 'approved', 'rejected')),
    version INTEGER NOT NULL DEFAULT 0,
    reviewer TEXT,
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
)""",
    "audit": """CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,
    form_id INTEGER NOT NULL REFERENCES forms(id),
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (datetime('now')),
    action TEXT NOT NULL,
    field TEXT,
    before TEXT,
    after TEXT
)""",
    "usage": """CREATE TABLE {name} (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    requests INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL
)""",
    # Machine readings that came after a reviewer had taken a form: shown beside the
    # reviewed record, never written over it.
    "readings": """CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,
    form_id INTEGER NOT NULL REFERENCES forms(id),
    backend TEXT,
    confidence REAL,
    route TEXT,
    error TEXT,
    record TEXT NOT NULL,
    read_at TEXT NOT NULL DEFAULT (datetime('now'))
)""",
}
EXTRAS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS documents_by_hash_and_name ON documents(content_hash, name)",
    "CREATE INDEX IF NOT EXISTS documents_by_name ON documents(name)",
    "CREATE INDEX IF NOT EXISTS documents_by_resolved ON documents(resolved)",
    "CREATE INDEX IF NOT EXISTS readings_by_form ON readings(form_id)",
    "CREATE TRIGGER IF NOT EXISTS audit_is_never_deleted BEFORE DELETE ON audit BEGIN"
    " SELECT RAISE(ABORT, '复核记录不可删除 / audit rows are never deleted'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_is_never_changed BEFORE UPDATE ON audit BEGIN"
    " SELECT RAISE(ABORT, '复核记录不可修改 / audit rows are never changed'); END",
]
# The first layout's tables whose foreign keys cascaded deletes into reviewers' work.
REBUILT = ("forms", "reviews", "audit")
# Columns later layouts added to tables that are not rebuilt.
ADDED = {"documents": ("resolved", "TEXT"), "forms": ("carried_from", "INTEGER REFERENCES forms(id)")}


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
        yield
    finally:
        handle.close()  # closing the file releases the lock


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


class Store:
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

    def close(self) -> None:
        self.db.close()

    def identity(self, key: str, path: Path, root_name: str, taken: dict[str, str]) -> tuple[str, str | None]:
        """The name this file is known by in the store, and the relative path it could not
        have (None when it has its own). The same file (same resolved path) keeps the name it
        has; a file whose relative path a live document from another file already has (read
        on another run, or earlier in this one: `taken`, name → resolved path) is named by its
        input root and relative path (`B/自评表.txt`), or failing that by its resolved path."""
        where = _where(path)
        name = self._known_as(key, path, where)
        candidates = ([name] if name else []) + [key, f"{root_name}/{key}" if root_name else key, Path(where).as_posix()]
        for candidate in dict.fromkeys(candidates):
            if taken.get(candidate, where) == where and (candidate == name or not self._used_by_other(candidate, where)):
                taken[candidate] = where
                return candidate, None if candidate in (key, name) else key
        taken[where] = where  # every shorter name is taken: its resolved path is its own
        return where, key

    def _known_as(self, key: str, path: Path, where: str) -> str | None:
        """The name the store already has for this file, if any: a file keeps its name, however
        it is given later (its folder, its parent's, or itself). A row of an earlier layout
        with no resolved path is claimed when its path resolves here, and one keyed by the bare
        file name (the first layout's identity) is taken over by its relative path."""
        bare = Path(key).name
        for row_id, name, stored in self.db.execute("SELECT id, name, path FROM documents WHERE resolved IS NULL"
                                                    " AND name IN (?, ?)", (key, bare)).fetchall():
            if _where(Path(stored)) == where:
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
             recheck: Callable[[Form], Form] | None = None) -> tuple[list[int], int, int]:
        """A read document (with its cleaned text, for review) and all its forms, findings and
        usage, in one transaction. A document some of whose forms failed is `partial`: its
        good forms are kept, and --retry-failed reads it again. An earlier version of the same
        file (same name, same resolved path, other content) is superseded. Read again, a form
        no reviewer has taken is replaced; a reviewed one keeps its record, the new reading
        kept beside it.

        The reviewed forms of a superseded version are carried forward: the new version's form
        of the same index and kind takes the reviewed record (rechecked against the new text by
        `recheck`), the new machine reading goes to `readings`, and the form goes back to the
        queue (`carried_from` links the earlier form and its audit). A reviewed form the new
        version has no form for is appended to it, after its own forms, likewise for review.
        Where this version's form has a review of its own (a file put back to reviewed
        content), that review stands and the earlier version's form stays where it is.
        Returns (the indexes of the forms carried, how many were appended, how many reviewed
        forms were left in the version this one replaces)."""
        failed = [f for f in record.forms if f.error]
        status = "partial" if failed else "done"
        error = f"{len(failed)} of {len(record.forms)} forms failed: {failed[0].error}" if failed else None
        where = _where(path)
        carried: list[int] = []
        appended = left = 0
        with self._transaction():
            earlier = [i for (i,) in self.db.execute(
                "SELECT id FROM documents WHERE name = ? AND content_hash != ? AND status != 'superseded'"
                " AND resolved = ? ORDER BY id DESC", (key, digest, where))]
            self.db.executemany("UPDATE documents SET status = 'superseded' WHERE id = ?", [(i,) for i in earlier])
            doc_id = self._upsert(digest, key, path, status, error, len(record.forms), keep_read=False)
            self.db.execute("UPDATE documents SET text = ? WHERE id = ?", (text, doc_id))
            held = {index: (form_id, reviewed) for index, form_id, reviewed in self.db.execute(
                "SELECT f.form_index, f.id, r.status IN ('saved', 'approved', 'rejected') OR f.carried_from IS NOT NULL"
                " OR EXISTS (SELECT 1 FROM audit a WHERE a.form_id = f.id)"
                " FROM forms f LEFT JOIN reviews r ON r.form_id = f.id WHERE f.document_id = ?", (doc_id,))}
            before = self._reviewed_forms(earlier)
            orphans = []
            for form in record.forms:
                index = form.source.form_index if form.source else 0
                form_id, reviewed = held.pop(index, (None, False))
                old = before.pop(index, None)
                if reviewed:
                    self._keep_reading(form_id, form)
                    if old and old["own"] and old["record"] != self._record(form_id):
                        left += 1
                elif old and old["kind"] == form.kind:
                    reviewed_form = FORM.validate_python(json.loads(old["record"])).model_copy(
                        update={"source": form.source, "field_boxes": {}})
                    if recheck:
                        reviewed_form = recheck(reviewed_form)
                    form_id = self._write_form(doc_id, form_id, index, key, _for_review(reviewed_form, CHANGED_FILE),
                                               carried_from=old["id"])
                    self._keep_reading(form_id, form)
                    carried.append(index)
                else:
                    self._write_form(doc_id, form_id, index, key, form)
                    if old:
                        orphans.append(old)
            for index, (form_id, reviewed) in held.items():  # forms this reading no longer has
                old = before.pop(index, None)
                if reviewed and old and old["own"] and old["record"] != self._record(form_id):
                    left += 1
                elif not reviewed and old:
                    orphans.append(old)
                if not reviewed:
                    self.db.execute("DELETE FROM readings WHERE form_id = ?", (form_id,))
                    self.db.execute("DELETE FROM reviews WHERE form_id = ?", (form_id,))
                    self.db.execute("DELETE FROM forms WHERE id = ?", (form_id,))
            (index,) = self.db.execute("SELECT COALESCE(MAX(form_index), -1) + 1 FROM forms WHERE document_id = ?",
                                       (doc_id,)).fetchone()
            for old in orphans + list(before.values()):
                kept = FORM.validate_python(json.loads(old["record"]))
                kept = kept.model_copy(update={"field_boxes": {}, "source": FormSource(
                    document=key, form_index=index, span=Span(start=0, end=len(text or "")))})
                self._write_form(doc_id, None, index, key, _for_review(kept, NO_COUNTERPART), carried_from=old["id"])
                index += 1
                appended += 1
            self.db.execute("UPDATE documents SET forms = (SELECT COUNT(*) FROM forms WHERE document_id = ?)"
                            " WHERE id = ?", (doc_id, doc_id))
            usage = [f.usage for f in record.forms if f.usage is not None]
            if usage:
                # What every reading cost, added up: a re-read is paid for again.
                self.db.execute(
                    "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(document_id) DO UPDATE SET"
                    " requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
                    " completion_tokens = completion_tokens + excluded.completion_tokens",
                    (doc_id, sum(u.requests for u in usage), sum(u.prompt_tokens for u in usage),
                     sum(u.completion_tokens for u in usage)))
        return carried, appended, left

    def _reviewed_forms(self, documents: list[int]) -> dict[int, dict]:
        """The forms of these documents (latest first) that hold a reviewer's work: reviewed,
        or carrying a review from a version before; by form index, the latest version's."""
        out: dict[int, dict] = {}
        for doc_id in documents:
            for index, form_id, kind, record, own, carries in self.db.execute(
                    "SELECT f.form_index, f.id, f.kind, f.record, COALESCE(r.status IN ('saved', 'approved', 'rejected'),"
                    " 0) OR EXISTS (SELECT 1 FROM audit a WHERE a.form_id = f.id), f.carried_from IS NOT NULL"
                    " FROM forms f LEFT JOIN reviews r ON r.form_id = f.id WHERE f.document_id = ? ORDER BY f.form_index",
                    (doc_id,)):
                if (own or carries) and index not in out:
                    out[index] = {"id": form_id, "kind": kind, "record": record, "own": bool(own)}
        return out

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
                    carried_from: int | None = None) -> int:
        if form.source:
            form = form.model_copy(update={"source": form.source.model_copy(update={"document": key})})
        values = (form.kind, form.project_name, form.backend, form.confidence,
                  form.route.decision if form.route else None, form.error, _json(form), carried_from)
        if form_id is None:
            form_id = self.db.execute(
                "INSERT INTO forms (kind, project_name, backend, confidence, route, error, record, carried_from,"
                " document_id, form_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*values, doc_id, index)).lastrowid
        else:
            self.db.execute("UPDATE forms SET kind = ?, project_name = ?, backend = ?, confidence = ?, route = ?,"
                            " error = ?, record = ?, carried_from = ? WHERE id = ?", (*values, form_id))
            self.db.execute("DELETE FROM findings WHERE form_id = ?", (form_id,))
        self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)", [
            (form_id, f.code, f.severity, f.triage, f.message, json.dumps(f.fields, ensure_ascii=False))
            for f in form.findings])
        return form_id

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
                "SELECT record FROM forms WHERE document_id = ? ORDER BY form_index", (doc_id,))]
            yield DocumentRecord.model_validate({"document": name, "forms": forms})


def _json(form: Form) -> str:
    return json.dumps(form.model_dump(mode="json"), ensure_ascii=False)


def _where(path: Path) -> str:
    """A file's resolved absolute path: what "the same file" means."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return os.path.abspath(path)


def _for_review(form: Form, why: str) -> Form:
    """The form sent back to the queue, saying why."""
    threshold = form.route.threshold if form.route else DEFAULT_THRESHOLD
    reasons = [why] + [r for r in (form.route.reasons if form.route else []) if r != why]
    return form.model_copy(update={"route": Route(decision="needs_review", threshold=threshold, reasons=reasons)})


def _upgrade(db: sqlite3.Connection, folder: Path) -> None:
    """Create the tables, or bring a store of an earlier layout up to this one: the tables
    whose deletes cascaded are rebuilt and every row copied, and columns added since are
    added, in one transaction that is rolled back, leaving the store as it was, unless every
    row arrived."""
    if db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    db.execute("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set before it
    with _Transaction(db):
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:  # another process upgraded it meanwhile
            return
        if version > SCHEMA_VERSION:
            raise ConfigError(f"{folder}: 此输出文件夹由更新版本的 jixiao 写入 / this store was written by a newer jixiao "
                              f"(layout {version}; this one reads {SCHEMA_VERSION}): upgrade jixiao")
        have = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        counts = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES if t in have}
        dangling = len(db.execute("PRAGMA foreign_key_check").fetchall())
        for table, create in TABLES.items():
            if table not in have:
                db.execute(create.format(name=table))
            elif table in REBUILT and version < 2:
                columns = ", ".join(r[1] for r in db.execute(f"PRAGMA table_info({table})"))
                db.execute(create.format(name=f"{table}_new"))
                db.execute(f"INSERT INTO {table}_new ({columns}) SELECT {columns} FROM {table}")
                db.execute(f"DROP TABLE {table}")
                db.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
        for table, (column, declared) in ADDED.items():
            if column not in {r[1] for r in db.execute(f"PRAGMA table_info({table})")}:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declared}")
        # Where each document's file was, when the store kept an absolute path (a relative
        # one is resolved when its file is next named: see Store._known_as). The first
        # layout's rows are left to be claimed so, since they go by the bare file name.
        db.executemany("UPDATE documents SET resolved = ? WHERE id = ?", [
            (_where(Path(stored)), row_id) for row_id, stored in
            db.execute("SELECT id, path FROM documents WHERE resolved IS NULL").fetchall()
            if os.path.isabs(stored) and version >= 2])
        for statement in EXTRAS:
            db.execute(statement)
        after = {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in counts}
        if after != counts or len(db.execute("PRAGMA foreign_key_check").fetchall()) != dangling:
            raise ConfigError(f"{folder}: 升级存储时行数不符，已回滚、未改动 / upgrading the store would lose rows "
                              f"({counts} → {after}); rolled back, nothing changed")
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, exc, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
