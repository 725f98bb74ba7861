"""The batch store's layout: its tables, and bringing a store an earlier jixiao wrote up to
this layout in one transaction that loses no row."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import ConfigError

# user_version 0 with tables is the first layout (cascading deletes from documents down to
# the audit); 2 added readings and cut the cascades; 3 added documents.resolved and
# forms.carried_from; 4 added forms.review_stamp; 5 added batch_jobs, batch_results (the
# provider batch jobs a run submitted and the answers they returned); 6 is this one
# (dropped_forms: the forms a re-read removed).
SCHEMA_VERSION = 6
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
    review_stamp INTEGER,  -- the audit row of the review whose record this is: the newest review wins
    UNIQUE (document_id, form_index)  -- a negative index: a reviewed form the file no longer has (not exported)
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
    # A provider batch job, recorded the moment it is submitted: a killed run polls it again
    # instead of submitting its forms twice. `collected` once its answers are in batch_results.
    "batch_jobs": """CREATE TABLE {name} (
    id TEXT PRIMARY KEY,  -- the provider's batch id ('submitting:' and a token until it is known)
    round INTEGER NOT NULL,  -- 1: the forms; 2: the follow-up questions
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    status TEXT NOT NULL,  -- the provider's: validating, in_progress, completed, failed, expired, cancelled …
    custom_ids TEXT NOT NULL,  -- JSON list: the request lines it holds
    collected INTEGER NOT NULL DEFAULT 0,
    submitted_at TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
)""",
    # Forms a re-read of their document no longer has, removed as no reviewer had taken them
    # (a reviewed one is kept, as a stray): a page still open on one is told it was read again,
    # and its id is never given to another form, which that page would then save over.
    "dropped_forms": """CREATE TABLE {name} (
    id INTEGER PRIMARY KEY,  -- the removed form's id
    document_id INTEGER NOT NULL REFERENCES documents(id),
    at TEXT NOT NULL DEFAULT (datetime('now'))
)""",
    # Each line a job's output or error file held, kept as downloaded: answers paid for are
    # never asked for again.
    "batch_results": """CREATE TABLE {name} (
    job_id TEXT NOT NULL REFERENCES batch_jobs(id),
    custom_id TEXT NOT NULL,
    line TEXT NOT NULL,
    PRIMARY KEY (job_id, custom_id)
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
ADDED = [("documents", "resolved", "TEXT"), ("forms", "carried_from", "INTEGER REFERENCES forms(id)"),
         ("forms", "review_stamp", "INTEGER")]


def _where(path: Path) -> str:
    """A file's resolved absolute path: what "the same file" means."""
    try:
        return str(Path(path).resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return os.path.abspath(path)


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
        for table, column, declared in ADDED:
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
