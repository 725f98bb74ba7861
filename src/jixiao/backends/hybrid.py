"""The hybrid back-end: rules first; the LLM only for forms the rules leave in doubt.

Per field the two answers are compared. Agreement raises confidence. A disagreement is
settled by the source: the answer printed in the form's text wins; where both (or neither)
are, the surer answer wins. The record keeps both answers for the reviewer. When the LLM
cannot be reached, the rules' reading stands (routed as it would be), with a note naming why."""

from __future__ import annotations

from ..errors import BackendUnavailable, ExtractionFailed
from ..evaluate import pair_rows, values_equal
from ..schema import Chunk, Form, Note, format_paths
from ..validate.triage import found_in_source
from ..validate.values import Values

LLM_CONFIDENCE = 0.9  # what an LLM answer is worth before the source settles a disagreement


class HybridBackend:
    name = "hybrid"

    def __init__(self, rules, llm, threshold: float | None = None):
        from ..route import DEFAULT_THRESHOLD

        self.rules, self.llm = rules, llm
        self.threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        self.model, self.prompt_version = llm.model, llm.prompt_version

    @property
    def totals(self):
        return self.llm.totals

    def extract(self, chunk: Chunk) -> Form:
        try:
            first = self.rules.extract(chunk)
        except ExtractionFailed as failed:
            try:
                second = self.llm.extract(chunk)
            except BackendUnavailable as exc:  # neither could read it: a failed form, not a lost document
                raise ExtractionFailed(f"{failed}; {exc}") from None
            second.backend = self.name
            return second
        from ..pipeline import check_form

        # Spans are offsets in the document: pad the chunk so they index it.
        source = " " * chunk.span.start + chunk.text
        checked = check_form(first.model_copy(deep=True), source, self.threshold, chunk.boxes)
        if checked.route.decision == "accepted":
            first.backend = self.name
            return first
        try:
            second = self.llm.extract(chunk)
        except (ExtractionFailed, BackendUnavailable) as exc:
            # The LLM could not help: the rules' reading stands, still routed to review.
            first.backend, first.usage = self.name, getattr(exc, "usage", None)
            code = "llm_failed" if isinstance(exc, ExtractionFailed) else "llm_unavailable"
            first.notes.append(Note(field="form", code=code, message=f"{exc}; 保留规则读取结果 / the rules' reading stands"))
            return first
        return self._merge(chunk, checked, second)

    def _merge(self, chunk: Chunk, rules: Form, llm: Form) -> Form:
        merged = rules.model_copy(deep=True)
        merged.backend, merged.model, merged.prompt_version, merged.usage, merged.examples = \
            self.name, llm.model, llm.prompt_version, llm.usage, llm.examples
        merged.findings, merged.route = [], None
        rules_values, llm_values = Values(rules, None, chunk.text), Values(llm, None, chunk.text)
        pairs = pair_rows(rules.indicators, llm.indicators) if rules.kind == llm.kind else {}
        for path in format_paths(rules):
            llm_path = _llm_path(path, pairs)
            if llm_path is None:
                continue
            mine, theirs = rules_values.get(path), llm_values.get(llm_path)
            field = path.rsplit(".", 1)[-1]
            if values_equal(field, mine, theirs):
                merged.notes.append(Note(field=path, code="agreement", message="the rules and the LLM agree"))
                continue
            winner, why = self._settle(rules, path, mine, theirs, rules_values, llm_values, llm_path)
            merged.alternatives[path] = {"rules": mine, "llm": theirs, "chosen": winner, "why": why}
            merged.notes.append(Note(field=path, code="disagreement", message=f"rules {mine!r} vs LLM {theirs!r}: {why}"))
            if winner == "llm":
                _set(merged, path, theirs)
        return merged

    @staticmethod
    def _settle(rules, path, mine, theirs, rules_values, llm_values, llm_path) -> tuple[str, str]:
        mine_found = found_in_source(rules_values, path, mine) if mine is not None else None
        theirs_found = found_in_source(llm_values, llm_path, theirs) if theirs is not None else None
        if mine_found and theirs_found is False:
            return "rules", "only the rules' value is printed in the source"
        if theirs_found and mine_found is False:
            return "llm", "only the LLM's value is printed in the source"
        rules_confidence = rules.field_confidence.get(path, 0.0)
        if rules_confidence >= LLM_CONFIDENCE:
            return "rules", f"both or neither in the source; the rules were surer ({rules_confidence:.2f})"
        return "llm", f"both or neither in the source; the rules were unsure ({rules_confidence:.2f})"


def _llm_path(path: str, pairs: dict[int, int]) -> str | None:
    if not path.startswith("indicators["):
        return path
    i = int(path[len("indicators["):path.index("]")])
    return f"indicators[{pairs[i]}]{path[path.index(']') + 1:]}" if i in pairs else None


def _set(form: Form, path: str, value) -> None:
    parts = path.replace("]", "").replace("[", ".").split(".")
    node = form
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    setattr(node, parts[-1], value)

