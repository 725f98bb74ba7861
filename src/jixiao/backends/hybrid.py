"""The hybrid back-end: rules first; the LLM only for forms the rules leave in doubt.

Per field the two answers are compared. Agreement raises confidence. A disagreement is
settled by the source: the answer printed at its place in the form's text wins; where both
(or neither) are, the surer answer wins. The `llm` back-end compares its answers the same way
(`merge`, kept on the LLM's reading) on the fields the rules reader is sure of. The record keeps both answers for the reviewer. When the LLM
cannot be reached, the rules' reading stands (routed as it would be), with a note naming why."""

from __future__ import annotations

from ..errors import BackendUnavailable, ExtractionFailed
from ..check import guarded
from ..compare import values_equal
from ..route import DEFAULT_THRESHOLD
from ..schema import Chunk, Form, Note, format_paths, set_at
from ..validate.triage import found_in_source
from ..validate.values import Values
from .base import Backend
from .grounding import SURE, Grounding, by_place, paired_path, paired_rows
from .grounding import checked as checked_form

# What an LLM answer is worth before the source settles a disagreement: a rules reading this
# sure wins one the source does not settle (and, in `llm` mode, is compared at all).
LLM_CONFIDENCE = SURE


class HybridBackend(Backend):
    name = "hybrid"

    def __init__(self, rules, llm, threshold: float | None = None):
        self.rules, self.llm = rules, llm
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self.model, self.prompt_version, self.price = llm.model, llm.prompt_version, llm.price

    @property
    def totals(self):
        return self.llm.totals

    def extract(self, chunk: Chunk) -> Form:
        try:
            first = self.rules.extract(chunk)
        except ExtractionFailed as failed:
            try:
                second = self.llm.read(chunk, None)
            except BackendUnavailable as exc:  # neither could read it: a failed form, not a lost document
                raise ExtractionFailed(f"{failed}; {exc}") from None
            second.backend = self.name
            return second
        checked = checked_form(first.model_copy(deep=True), chunk, self.threshold)
        if checked.route.decision == "accepted":
            first.backend = self.name
            return first
        try:
            second = self.llm.read(chunk, checked)
        except (ExtractionFailed, BackendUnavailable) as exc:
            # The LLM could not help: the rules' reading stands, still routed to review.
            first.backend, first.usage = self.name, getattr(exc, "usage", None)
            code = "llm_failed" if isinstance(exc, ExtractionFailed) else "llm_unavailable"
            first.notes.append(Note(field="form", code=code, message=f"{exc}; 保留规则读取结果 / the rules' reading stands"))
            return first
        return self._merge(chunk, checked, second)

    def _merge(self, chunk: Chunk, rules: Form, llm: Form) -> Form:
        merged = merge_or_llm(chunk, rules, llm, keep="rules")
        merged.backend, merged.model, merged.prompt_version, merged.usage, merged.examples = \
            self.name, llm.model, llm.prompt_version, llm.usage, llm.examples
        merged.shared_prompt_version = llm.shared_prompt_version
        merged.findings, merged.route = [], None
        return merged


def compared(rules: Form, llm: Form, sure_only: bool = False):
    """(rules path, LLM path, rules value, LLM value, equal) for every field both readings
    hold (rows paired by name); with `sure_only`, only the fields the rules reader is sure of."""
    pairs = paired_rows(rules.indicators, llm.indicators) if rules.kind == llm.kind else {}
    rules_values, llm_values = Values(rules), Values(llm)
    sure = rules.field_confidence if by_place(rules) else {}  # a reading by order alone is sure of nothing
    for path in format_paths(rules):
        llm_path = paired_path(path, pairs)
        if llm_path is None or sure_only and sure.get(path, 0.0) < LLM_CONFIDENCE:
            continue
        mine, theirs = rules_values.get(path), llm_values.get(llm_path)
        yield path, llm_path, mine, theirs, values_equal(path.rsplit(".", 1)[-1], mine, theirs)


def merge_or_llm(chunk: Chunk, rules: Form, llm: Form, keep: str) -> Form:
    """`merge`, or where it raised, `llm` as read with a check_failed note (so it is reviewed)."""
    return guarded(llm.notes, "merge", lambda: merge(chunk, rules, llm, keep=keep), llm)


def merge(chunk: Chunk, rules: Form, llm: Form, keep: str) -> Form:
    """The two readings compared field by field, kept on the `keep` reading ("rules": every
    field the rules read; "llm": the fields the rules reader is sure of). Agreement is noted
    (it raises confidence); a disagreement is settled by the source, where each value is looked
    for at its place (the LLM's where the rules reader places it), else by the rules' confidence,
    and noted (it lowers confidence, so the form goes to review) with both answers kept."""
    merged = (rules if keep == "rules" else llm).model_copy(deep=True)
    # Spans are offsets in the document: pad the chunk so they index it.
    rules_values = Values(rules, " " * chunk.span.start + chunk.text, chunk.text)
    grounding = Grounding(chunk, rules)
    for path, llm_path, mine, theirs, equal in compared(rules, llm, sure_only=keep == "llm"):
        here = path if keep == "rules" else llm_path
        if equal:
            merged.notes.append(Note(field=here, code="agreement", message="the rules and the LLM agree"))
            continue
        mine_found = found_in_source(rules_values, path, mine) if mine is not None else None
        # A blank where the rules read a value printed at its place: the source settles it.
        theirs_found = grounding.at_place(llm, llm_path, theirs) if theirs is not None else False
        winner, why = _settle(rules.field_confidence.get(path, 0.0), mine_found, theirs_found, keep)
        merged.alternatives[here] = {"rules": mine, "llm": theirs, "chosen": winner, "why": why}
        merged.notes.append(Note(field=here, code="disagreement", message=f"rules {mine!r} vs LLM {theirs!r}: {why}"))
        if winner != keep:
            set_at(merged, here, theirs if winner == "llm" else mine)
    return merged


def _settle(rules_confidence: float, mine_found: bool | None, theirs_found: bool | None,
            keep: str) -> tuple[str, str]:
    """Which reading wins a disagreement: the one the source prints at its place; else, on the
    rules' reading (hybrid), the surer; on the LLM's (`llm`), the LLM's stands (for review)."""
    if mine_found and theirs_found is False:
        return "rules", "only the rules' value is printed in the source"
    if theirs_found and mine_found is False:
        return "llm", "only the LLM's value is printed in the source"
    if keep == "llm":
        return "llm", f"both or neither in the source; the LLM's reading stands, for review"
    if rules_confidence >= LLM_CONFIDENCE:
        return "rules", f"both or neither in the source; the rules were surer ({rules_confidence:.2f})"
    return "llm", f"both or neither in the source; the rules were unsure ({rules_confidence:.2f})"

