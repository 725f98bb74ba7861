"""The batch store: one SQLite database (WAL) per output folder.

A document is its path relative to the input it came from (`A/自评表.txt`), and its
content hash says which version of that file was read: a re-run skips what is finished,
a file edited in place supersedes its earlier version, and a copy at another path is
recognised. Everything about one document is written in one transaction: after a crash
(even kill -9) a document is either wholly there or not at all. Reviewers' work is never
deleted: audit rows refuse deletion, and a form a reviewer saved, approved or rejected
keeps its record when the document is read again (the new reading is kept beside it).
The file is an ordinary SQLite database: query it with sqlite3, or browse it with datasette."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import ConfigError
from .schema import DocumentRecord, Form

DB_NAME = "jixiao.sqlite"
LOCK_NAME = "jixiao.lock"
# user_version 0 with tables is the first layout (cascading deletes from documents down to
# the audit); 2 is this one.
SCHEMA_VERSION = 2
REVIEWED = ("saved", "approved", "rejected")

# One statement each: the migration runs them inside its own transaction.
TABLES = {
    "documents": """CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL,
    name TEXT NOT NULL,  -- the path relative to the input it came from: the document's identity
    path TEXT NOT NULL,
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
    "CREATE INDEX IF NOT EXISTS readings_by_form ON readings(form_id)",
    "CREATE TRIGGER IF NOT EXISTS audit_is_never_deleted BEFORE DELETE ON audit BEGIN"
    " SELECT RAISE(ABORT, '复核记录不可删除 / audit rows are never deleted'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_is_never_changed BEFORE UPDATE ON audit BEGIN"
    " SELECT RAISE(ABORT, '复核记录不可修改 / audit rows are never changed'); END",
]
# The first layout's tables whose foreign keys cascaded deletes into reviewers' work.
REBUILT = ("forms", "reviews", "audit")


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

    def status(self, digest: str, key: str, path: Path | None = None) -> tuple[str, int] | None:
        """(status, id) of this content at this relative path, if the store has it. A row the
        first layout keyed by the bare file name (same content, same path given) is taken over."""
        row = self.db.execute("SELECT status, id FROM documents WHERE content_hash = ? AND name = ?",
                              (digest, key)).fetchone()
        if row is None and path is not None and key != path.name:
            row = self.db.execute("SELECT status, id FROM documents WHERE content_hash = ? AND name = ? AND path = ?",
                                  (digest, path.name, str(path))).fetchone()
            if row:
                self.db.execute("UPDATE documents SET name = ? WHERE id = ?", (key, row[1]))
        return (row[0], row[1]) if row else None

    def done_elsewhere(self, digest: str, key: str) -> tuple[int, str] | None:
        """A finished document with the same content at another relative path."""
        row = self.db.execute("SELECT id, name FROM documents WHERE content_hash = ? AND name != ?"
                              " AND status IN ('done', 'partial')"
                              " ORDER BY id LIMIT 1", (digest, key)).fetchone()
        return (row[0], row[1]) if row else None

    def save(self, digest: str, key: str, path: Path, record: DocumentRecord, text: str | None = None) -> None:
        """A read document (with its cleaned text, for review) and all its forms, findings and
        usage, in one transaction. A document some of whose forms failed is `partial`: its
        good forms are kept, and --retry-failed reads it again. An earlier version of the same
        file (same relative path, other content) is superseded. Read again, a form no reviewer
        has taken is replaced; a reviewed one keeps its record, the new reading kept beside it."""
        failed = [f for f in record.forms if f.error]
        status = "partial" if failed else "done"
        error = f"{len(failed)} of {len(record.forms)} forms failed: {failed[0].error}" if failed else None
        with self._transaction():
            self.db.execute("UPDATE documents SET status = 'superseded' WHERE name = ? AND content_hash != ?"
                            " AND status != 'superseded'", (key, digest))
            doc_id = self._upsert(digest, key, path, status, error, len(record.forms), keep_read=False)
            self.db.execute("UPDATE documents SET text = ? WHERE id = ?", (text, doc_id))
            held = {index: (form_id, reviewed) for index, form_id, reviewed in self.db.execute(
                "SELECT f.form_index, f.id, r.status IN ('saved', 'approved', 'rejected')"
                " OR EXISTS (SELECT 1 FROM audit a WHERE a.form_id = f.id)"
                " FROM forms f LEFT JOIN reviews r ON r.form_id = f.id WHERE f.document_id = ?", (doc_id,))}
            for form in record.forms:
                index = form.source.form_index if form.source else 0
                form_id, reviewed = held.pop(index, (None, False))
                if reviewed:
                    self._keep_reading(form_id, form)
                else:
                    self._write_form(doc_id, form_id, index, key, form)
            for form_id, reviewed in held.values():  # forms this reading no longer has
                if not reviewed:
                    self.db.execute("DELETE FROM readings WHERE form_id = ?", (form_id,))
                    self.db.execute("DELETE FROM reviews WHERE form_id = ?", (form_id,))
                    self.db.execute("DELETE FROM forms WHERE id = ?", (form_id,))
            usage = [f.usage for f in record.forms if f.usage is not None]
            if usage:
                # What every reading cost, added up: a re-read is paid for again.
                self.db.execute(
                    "INSERT INTO usage VALUES (?, ?, ?, ?) ON CONFLICT(document_id) DO UPDATE SET"
                    " requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
                    " completion_tokens = completion_tokens + excluded.completion_tokens",
                    (doc_id, sum(u.requests for u in usage), sum(u.prompt_tokens for u in usage),
                     sum(u.completion_tokens for u in usage)))

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
        row = self.db.execute("SELECT id, status FROM documents WHERE content_hash = ? AND name = ?",
                              (digest, key)).fetchone()
        if row is None:
            return self.db.execute("INSERT INTO documents (content_hash, name, path, status, error, forms) "
                                   "VALUES (?, ?, ?, ?, ?, ?)", (digest, key, str(path), status, error, forms)).lastrowid
        if keep_read and row[1] in ("done", "partial"):
            self.db.execute("UPDATE documents SET path = ?, error = ?, finished_at = datetime('now') WHERE id = ?",
                            (str(path), f"上次重读失败 / the last re-read failed: {error}", row[0]))
        else:
            self.db.execute("UPDATE documents SET path = ?, status = ?, error = ?, forms = ?, duplicate_of = NULL,"
                            " finished_at = datetime('now') WHERE id = ?", (str(path), status, error, forms, row[0]))
        return row[0]

    def _write_form(self, doc_id: int, form_id: int | None, index: int, key: str, form: Form) -> None:
        if form.source:
            form = form.model_copy(update={"source": form.source.model_copy(update={"document": key})})
        values = (form.kind, form.project_name, form.backend, form.confidence,
                  form.route.decision if form.route else None, form.error, _json(form))
        if form_id is None:
            form_id = self.db.execute(
                "INSERT INTO forms (kind, project_name, backend, confidence, route, error, record, document_id,"
                " form_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (*values, doc_id, index)).lastrowid
        else:
            self.db.execute("UPDATE forms SET kind = ?, project_name = ?, backend = ?, confidence = ?, route = ?,"
                            " error = ?, record = ? WHERE id = ?", (*values, form_id))
            self.db.execute("DELETE FROM findings WHERE form_id = ?", (form_id,))
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


def _upgrade(db: sqlite3.Connection, folder: Path) -> None:
    """Create the tables, or bring a store of an earlier layout up to this one: the tables
    whose deletes cascaded are rebuilt and every row copied, in one transaction that is
    rolled back, leaving the store as it was, unless every row arrived."""
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
            elif table in REBUILT:
                columns = ", ".join(r[1] for r in db.execute(f"PRAGMA table_info({table})"))
                db.execute(create.format(name=f"{table}_new"))
                db.execute(f"INSERT INTO {table}_new ({columns}) SELECT {columns} FROM {table}")
                db.execute(f"DROP TABLE {table}")
                db.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
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
