"""Carrying reviewers' work from one version of a file to the next.

A reviewed form of an earlier version is matched to a form of the new version by what the
form is, never by where it stands: the same kind and the same project name (the reviewed
record's, or any the machine read for it in this or an earlier version, so a name a reviewer
corrected still matches); a year is a different form where both are known and differ; the
departments and then the nearest position break ties. Each form of the new version takes at
most one reviewed form, and each reviewed form goes to at most one form. Where a form holds
a review already (the same content read before, or a file put back), the newest review wins:
reviews are ordered by their audit rows, and `forms.review_stamp` keeps the audit row of the
review whose record a form holds, carried along with the record."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

from ..schema import Form

FIELDS = ("project_name", "year", "supervising_dept", "implementing_unit")
# A form holding a reviewer's work: a review of its own, an audit row, or a record carried.
HOLDS_REVIEW = ("(COALESCE(r.status IN ('saved', 'approved', 'rejected'), 0) OR f.carried_from IS NOT NULL"
                " OR f.review_stamp IS NOT NULL OR EXISTS (SELECT 1 FROM audit a WHERE a.form_id = f.id))")


@dataclass
class Reviewed:
    """A form of an earlier version that holds a reviewer's work."""

    id: int
    index: int
    kind: str
    record: str
    status: str
    reviewer: str | None
    stamp: int
    chain: list[int]
    known: dict[str, set] = field(default_factory=dict)


def chain(db: sqlite3.Connection, form_id: int) -> list[int]:
    """This form, then the forms whose reviewed record it carries, in turn (a cycle, from a
    file put back and forth, ends where it meets itself)."""
    out = [int(form_id)]
    while len(out) < 1000:
        row = db.execute("SELECT carried_from FROM forms WHERE id = ?", (out[-1],)).fetchone()
        if not row or row[0] is None or row[0] in out:
            break
        out.append(row[0])
    return out


def stamp(db: sqlite3.Connection, form_id: int, links: list[int] | None = None) -> int:
    """The audit row of the review whose record this form holds (0: none). Stores written
    before `review_stamp` existed: the form's own latest audit row, else its source's.
    `links`: the form's chain, where the caller has it already."""
    for link in links or chain(db, form_id):
        kept, own = db.execute("SELECT f.review_stamp, (SELECT MAX(id) FROM audit WHERE form_id = f.id) FROM forms f"
                               " WHERE f.id = ?", (link,)).fetchone()
        if kept is not None or own is not None:
            return kept if kept is not None else own
    return 0


def reviewed_forms(db: sqlite3.Connection, documents: list[int]) -> list[Reviewed]:
    """The forms of these documents that hold a reviewer's work, each lineage once (its
    newest review). A form kept for review with no counterpart that a reviewer rejected is
    settled: it goes no further."""
    found: list[Reviewed] = []
    for doc_id in documents:
        for form_id, index, kind, record, status, reviewer in db.execute(
                "SELECT f.id, f.form_index, f.kind, f.record, COALESCE(r.status, 'pending'), r.reviewer FROM forms f"
                f" LEFT JOIN reviews r ON r.form_id = f.id WHERE f.document_id = ? AND {HOLDS_REVIEW}"
                " ORDER BY f.form_index", (doc_id,)).fetchall():
            if index < 0 and status == "rejected":
                continue
            links = chain(db, form_id)
            found.append(Reviewed(form_id, index, kind, record, status, reviewer, stamp(db, form_id, links), links,
                                  known(db, links)))
    # One lineage, one candidate: a form another one carries on is represented by it.
    return [r for r in found if not any(r.id in o.chain[1:] and o.stamp >= r.stamp for o in found if o is not r)]


def known(db: sqlite3.Connection, links: list[int]) -> dict[str, set]:
    """The values of the matching fields a lineage of forms has held: its records, the
    machine readings kept beside them, and the values on either side of every edit."""
    out: dict[str, set] = {name: set() for name in FIELDS}
    marks = ",".join("?" * len(links))
    records = [r for (r,) in db.execute(f"SELECT record FROM forms WHERE id IN ({marks})", links)]
    records += [r for (r,) in db.execute(f"SELECT record FROM readings WHERE form_id IN ({marks})", links)]
    for record in records:
        values = json.loads(record)
        for name in FIELDS:
            out[name].add(_norm(values.get(name)))
    for name, before, after in db.execute(f"SELECT field, before, after FROM audit WHERE form_id IN ({marks})"
                                          f" AND field IN ({','.join('?' * len(FIELDS))})", (*links, *FIELDS)):
        for value in (before, after):
            out[name].add(_norm(json.loads(value) if value is not None else None))
    for values in out.values():
        values.discard(None)
    return out


def match(reviewed: list[Reviewed], forms: list[Form]) -> dict[int, Reviewed]:
    """The reviewed form each form of the new version takes (by its form index), if any."""
    pairs = []
    for old in reviewed:
        for form in forms:
            index = form.source.form_index if form.source else 0
            name = _norm(form.project_name)
            if form.kind != old.kind or name is None or name not in old.known["project_name"]:
                continue
            if form.year is not None and old.known["year"] and _norm(form.year) not in old.known["year"]:
                continue  # another year's form of one project
            score = (_norm(form.supervising_dept) in old.known["supervising_dept"],
                     _norm(form.implementing_unit) in old.known["implementing_unit"],
                     -abs(index - old.index) if old.index >= 0 else 0, -old.id)
            pairs.append((score, index, old))
    taken: dict[int, Reviewed] = {}
    used: set[int] = set()
    for _, index, old in sorted(pairs, key=lambda p: p[0], reverse=True):
        if index not in taken and old.id not in used:
            taken[index] = old
            used.add(old.id)
    return taken


def _norm(value):
    if value is None:
        return None
    text = "".join(str(value).split())
    return text or None
