"""One owner of SQL: every query and transaction is in the store package (`jixiao/store/`).
A module elsewhere that executes SQL on a connection, or opens one, is named with its line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jixiao

PACKAGE = Path(jixiao.__file__).parent
STORE = PACKAGE / "store"
RUNS_SQL = {"execute", "executemany", "executescript"}


def sql_outside_store(source: str, name: str) -> list[str]:
    """`file:line what` for each SQL call or connection opened in this module's source."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            what = node.func.attr
            target = node.func.value
            if what in RUNS_SQL or (what == "connect" and isinstance(target, ast.Name) and target.id == "sqlite3"):
                found.append(f"{name}:{node.lineno} .{what}(")
        elif isinstance(node, ast.ImportFrom) and node.module == "sqlite3":
            found.append(f"{name}:{node.lineno} from sqlite3 import")
    return sorted(found, key=lambda f: int(f.split(":")[1].split()[0]))


@pytest.mark.slow
def test_sql_only_in_the_store_package():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if STORE not in path.parents:
            found += sql_outside_store(path.read_text(encoding="utf-8"), str(path.relative_to(PACKAGE)))
    assert not found, "SQL outside jixiao/store/ (move it into a Store method):\n" + "\n".join(found)


def test_the_check_names_file_and_line():
    # What the check above relies on: a query, a transaction and a connection opened are each
    # found where they are, and a call of another name is not.
    source = "import sqlite3\ndb = sqlite3.connect('x')\n\ndb.execute('BEGIN')\ncur.executemany('x', [])\nrun.executed()\n"
    assert sql_outside_store(source, "m.py") == ["m.py:2 .connect(", "m.py:4 .execute(", "m.py:5 .executemany("]
