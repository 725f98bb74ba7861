"""The batch store: one SQLite database (WAL) per output folder.

Documents are keyed by the hash of their bytes, so a re-run skips what is finished and a
copy under another name is recognised. Everything about one document is written in one
transaction: after a crash (even kill -9) a document is either wholly there or not at all.
The file is an ordinary SQLite database: query it with sqlite3, or browse it with datasette."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from .errors import ConfigError
from .schema import DocumentRecord, Form

DB_NAME = "jixiao.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    content_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'partial', 'failed', 'duplicate', 'superseded')),
    error TEXT,
    text TEXT,
    duplicate_of INTEGER REFERENCES documents(id),
    forms INTEGER NOT NULL DEFAULT 0,
    finished_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_by_hash_and_name ON documents(content_hash, name);
CREATE TABLE IF NOT EXISTS forms (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    form_index INTEGER NOT NULL,
    kind TEXT NOT NULL,
    project_name TEXT,
    backend TEXT,
    confidence REAL,
    route TEXT,
    error TEXT,
    record TEXT NOT NULL,
    UNIQUE (document_id, form_index)
);
CREATE TABLE IF NOT EXISTS findings (
    form_id INTEGER NOT NULL REFERENCES forms(id) ON DELETE CASCADE,
    code TEXT NOT NULL,
    severity TEXT NOT NULL,
    triage TEXT,
    message TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS reviews (
    form_id INTEGER PRIMARY KEY REFERENCES forms(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'saved', 'approved', 'rejected')),
    version INTEGER NOT NULL DEFAULT 0,
    reviewer TEXT,
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    form_id INTEGER NOT NULL REFERENCES forms(id) ON DELETE CASCADE,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (datetime('now')),
    action TEXT NOT NULL,
    field TEXT,
    before TEXT,
    after TEXT
);
CREATE TABLE IF NOT EXISTS usage (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    requests INTEGER NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL
);
"""


def content_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks (a large file is never held whole)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Store:
    """The batch database in `folder`, created if need be."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.folder / DB_NAME, isolation_level=None, timeout=30, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL keeps every commit safe from a killed process (only a power cut
            # can lose the last commits) without an fsync per document.
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
        except (OSError, sqlite3.OperationalError) as exc:
            raise ConfigError(f"{self.folder}: 无法写入输出文件夹 / cannot write to the output folder ({exc}); "
                              "choose a folder you can write to") from None

    def close(self) -> None:
        self.db.close()

    def status(self, digest: str, name: str) -> tuple[str, int] | None:
        """(status, id) of this content under this name, if the store has it."""
        row = self.db.execute("SELECT status, id FROM documents WHERE content_hash = ? AND name = ?",
                              (digest, name)).fetchone()
        return (row[0], row[1]) if row else None

    def done_elsewhere(self, digest: str, name: str) -> tuple[int, str] | None:
        """A finished document with the same content under another name."""
        row = self.db.execute("SELECT id, name FROM documents WHERE content_hash = ? AND name != ?"
                              " AND status IN ('done', 'partial')"
                              " ORDER BY id LIMIT 1", (digest, name)).fetchone()
        return (row[0], row[1]) if row else None

    def save(self, digest: str, path: Path, record: DocumentRecord, text: str | None = None) -> None:
        """A read document (with its cleaned text, for review) and all its forms, findings and
        usage, in one transaction. A document some of whose forms failed is `partial`: its
        good forms are kept, and --retry-failed reads it again. An earlier version of the same
        file (same name, other content) is superseded."""
        failed = [f for f in record.forms if f.error]
        status = "partial" if failed else "done"
        error = f"{len(failed)} of {len(record.forms)} forms failed: {failed[0].error}" if failed else None
        with self._transaction():
            self.db.execute("UPDATE documents SET status = 'superseded' WHERE name = ? AND content_hash != ?"
                            " AND status != 'superseded'", (path.name, digest))
            doc_id = self._replace(digest, path, status, error, len(record.forms))
            self.db.execute("UPDATE documents SET text = ? WHERE id = ?", (text, doc_id))
            for form in record.forms:
                self._insert_form(doc_id, form)
            usage = [f.usage for f in record.forms if f.usage is not None]
            if usage:
                self.db.execute("INSERT INTO usage VALUES (?, ?, ?, ?)", (
                    doc_id, sum(u.requests for u in usage), sum(u.prompt_tokens for u in usage),
                    sum(u.completion_tokens for u in usage)))

    def fail(self, digest: str, path: Path, error: str) -> None:
        with self._transaction():
            self._replace(digest, path, "failed", error, 0)

    def duplicate(self, digest: str, path: Path, of: int | None, of_name: str) -> None:
        with self._transaction():
            doc_id = self._replace(digest, path, "duplicate", f"same content as {of_name} / 与 {of_name} 内容相同", 0)
            self.db.execute("UPDATE documents SET duplicate_of = ? WHERE id = ?", (of, doc_id))

    def _replace(self, digest: str, path: Path, status: str, error: str | None, forms: int) -> int:
        self.db.execute("DELETE FROM documents WHERE content_hash = ? AND name = ?", (digest, path.name))
        cur = self.db.execute("INSERT INTO documents (content_hash, name, path, status, error, forms) "
                              "VALUES (?, ?, ?, ?, ?, ?)", (digest, path.name, str(path), status, error, forms))
        return cur.lastrowid

    def _insert_form(self, doc_id: int, form: Form) -> None:
        index = form.source.form_index if form.source else 0
        cur = self.db.execute(
            "INSERT INTO forms (document_id, form_index, kind, project_name, backend, confidence, route, error, record)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, index, form.kind, form.project_name, form.backend, form.confidence,
             form.route.decision if form.route else None, form.error,
             json.dumps(form.model_dump(mode="json"), ensure_ascii=False)))
        self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?)", [
            (cur.lastrowid, f.code, f.severity, f.triage, f.message, json.dumps(f.fields, ensure_ascii=False))
            for f in form.findings])

    def _transaction(self):
        return _Transaction(self.db)

    # --- reading back ---------------------------------------------------------------------
    def documents(self):
        """(name, status, error) of every document, in the order they were finished."""
        return self.db.execute("SELECT name, status, error FROM documents ORDER BY id").fetchall()

    def records(self):
        """Each finished document's record, one at a time (a large store is never loaded whole)."""
        docs = self.db.execute("SELECT id, name FROM documents WHERE status IN ('done', 'partial') ORDER BY name, id"
                               ).fetchall()
        for doc_id, name in docs:
            forms = [json.loads(r) for (r,) in self.db.execute(
                "SELECT record FROM forms WHERE document_id = ? ORDER BY form_index", (doc_id,))]
            yield DocumentRecord.model_validate({"document": name, "forms": forms})


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, exc, tb):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
