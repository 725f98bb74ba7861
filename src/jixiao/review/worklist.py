"""The review queue as a work list: how many forms are reviewed and how many are left, by
document and by finding code, and the forms whose only findings are the form's own printed
errors (source_inconsistency), approved together after a person has seen the list."""

from __future__ import annotations

from pydantic import BaseModel

from ..errors import StaleEdit
from . import Review
from .explain import doubts, form_reasons, where


class Progress(BaseModel):
    """Forms sent to review: reviewed (approved or rejected) and left, overall and per document;
    per finding code, the forms left that have it."""

    reviewed: int
    left: int
    documents: list[tuple[str, int, int]]  # (name, reviewed, left)
    codes: list[tuple[str, int]]  # (code, forms left with it)


class Candidate(BaseModel):
    """A form in the queue whose only findings are printed errors; `blocked` says why it is
    not approved with the others (its reading itself is in doubt), empty when it is."""

    id: int
    version: int
    document: str
    form_index: int
    project_name: str | None
    findings: list[str]
    blocked: list[str]


def progress(review: Review) -> Progress:
    documents, codes = review.store.review_progress()
    return Progress(reviewed=sum(d[1] for d in documents), left=sum(d[2] for d in documents), documents=documents,
                    codes=codes)


def printed_errors_only(review: Review) -> list[Candidate]:
    """The forms left in the queue whose every finding (info aside) is the form's own printed
    error. Those whose reading is also in doubt (a place less sure than the threshold, a
    file changed after review, a form read with no counterpart, a failed reading) are
    `blocked`: a printed error is the auditor's, a doubt about the reading is the reviewer's."""
    # Only these forms' records are read: a long queue is mostly other forms.
    printed = review.store.forms_with_printed_errors_only()
    out = []
    for item in (i for i in review.queue() if i["id"] in printed):
        form, _, version, _ = review.form(item["id"])
        serious = [f for f in form.findings if f.severity != "info"]
        if not serious or any(f.triage != "source_inconsistency" for f in serious):
            continue
        blocked = form_reasons(form) + [f"{p.label}：{p.cells}" for p in doubts(form)]
        if item["form_index"] < 0 or review.carried(item["id"]):
            blocked.insert(0, "复核后文件改动过，请逐张看 / the file changed after review: look at it yourself")
        out.append(Candidate(id=item["id"], version=version, document=item["document"], form_index=item["form_index"],
                             project_name=item["project_name"], blocked=blocked,
                             findings=[f"{f.code} {where(form, f.fields)}：{f.message}" for f in serious]))
    return out


def approve_printed_errors(review: Review, chosen: dict[int, int]) -> tuple[list[int], list[str]]:
    """Approve the forms a person confirmed (`chosen`: form id → the version they saw), each as
    a manual approval is (the same audit rows); a form that no longer qualifies, or was saved
    since, is left, with why. (approved ids, left messages)."""
    ready = {c.id: c for c in printed_errors_only(review) if not c.blocked}
    approved, left = [], []
    for form_id, version in chosen.items():
        if form_id not in ready:
            left.append(f"表 {form_id} 已不在可批量通过之列 / form {form_id} no longer qualifies")
            continue
        form, _, _, _ = review.form(form_id)
        try:
            review.apply(form_id, form.model_dump(mode="json"), "approve", version)
        except StaleEdit as exc:
            left.append(str(exc))
            continue
        approved.append(form_id)
    return approved, left
