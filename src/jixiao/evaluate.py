"""Predictions against hand-labelled gold, field by field, by the FORMAT.md rules.

Numbers are equal within 1e-6 relative; names and cells are equal after NFKC, whitespace and
HTML-tag removal; long texts are right when at least 0.95 similar after the same clean-up.
Forms pair by project name within a document; indicator rows pair by name similarity, so a
missing row does not shift every row after it."""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable

from pydantic import BaseModel, Field

from .schema import DocumentRecord, Form

LONG_TEXTS = frozenset({"goal_expected", "goal_actual", "goal_overall", "goal_annual", "deviation"})
_TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
_WS = re.compile(r"\s+")
_FORM_FIELDS = {
    "self_evaluation": ("kind", "year", "project_name", "supervising_dept", "implementing_unit", "amount_unit",
                        "goal_expected", "goal_actual", "total_weight", "total_score", "grade"),
    "target_declaration": ("kind", "year", "project_name", "project_nature", "project_category",
                           "supervising_dept", "implementing_unit", "planned_start", "planned_end", "amount_unit",
                           "goal_overall", "goal_annual"),
}
_ROW_FIELDS = {
    "self_evaluation": ("level1", "level2", "name", "target", "actual", "weight", "score", "deviation"),
    "target_declaration": ("level1", "level2", "name", "target"),
}


class Miss(BaseModel):
    document: str
    form: str
    field: str
    gold: object = None
    predicted: object = None


class Comparison(BaseModel):
    """Counts of right gold fields and rows, and every miss."""

    fields: int = 0
    right: int = 0
    rows_expected: int = 0
    rows_found: int = 0
    misses: list[Miss] = Field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.fields if self.fields else 1.0

    def add(self, other: Comparison) -> Comparison:
        return Comparison(fields=self.fields + other.fields, right=self.right + other.right,
                          rows_expected=self.rows_expected + other.rows_expected,
                          rows_found=self.rows_found + other.rows_found, misses=self.misses + other.misses)


def clean(text: str) -> str:
    """NFKC, HTML tags and all whitespace removed."""
    return _WS.sub("", _TAG.sub("", unicodedata.normalize("NFKC", text)))


def values_equal(field: str, gold: object, predicted: object) -> bool:
    """Whether a predicted value counts as right for a gold value of `field`."""
    if gold is None or predicted is None:
        return gold is None and (predicted is None or predicted == "")
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        try:
            p = float(predicted)
        except (TypeError, ValueError):
            return False
        return math.isclose(float(gold), p, rel_tol=1e-6, abs_tol=1e-9)
    g, p = clean(str(gold)), clean(str(predicted))
    if field in LONG_TEXTS:
        return g == p or difflib.SequenceMatcher(None, g, p, autojunk=False).ratio() >= 0.95
    return g == p


def compare_documents(gold: DocumentRecord, predicted: DocumentRecord | None) -> Comparison:
    """Every gold field of every gold form scored against the prediction."""
    result = Comparison()
    pred_forms = list(predicted.forms) if predicted else []
    for gold_form, pred_form in _pair_forms(gold.forms, pred_forms):
        result = result.add(_compare_form(gold.document, gold_form, pred_form))
    return result


def _pair_forms(gold: list[Form], predicted: list[Form]) -> Iterable[tuple[Form, Form | None]]:
    unused = list(predicted)
    for g in gold:
        match = next((p for p in unused if clean(p.project_name or "") == clean(g.project_name or "")), None)
        if match is not None:
            unused.remove(match)
        yield g, match


def _compare_form(document: str, gold: Form, pred: Form | None) -> Comparison:
    label = gold.project_name or "?"
    c = Comparison()
    for path, g, p in _form_values(gold, pred):
        c.fields += 1
        if pred is not None and values_equal(path.rsplit(".", 1)[-1], g, p):
            c.right += 1
        else:
            c.misses.append(Miss(document=document, form=label, field=path, gold=g, predicted=p))
    rows = _compare_rows(document, label, gold, pred)
    return c.add(rows)


def _form_values(gold: Form, pred: Form | None):
    for name in _FORM_FIELDS[gold.kind]:
        yield name, getattr(gold, name), getattr(pred, name, None) if pred else None
    gold_funds = gold.funds.model_dump()
    pred_funds = pred.funds.model_dump() if pred and pred.kind == gold.kind else {}
    for key, value in gold_funds.items():
        if isinstance(value, dict):
            for col, v in value.items():
                yield f"funds.{key}.{col}", v, (pred_funds.get(key) or {}).get(col)
        else:
            yield f"funds.{key}", value, pred_funds.get(key)


def _compare_rows(document: str, label: str, gold: Form, pred: Form | None) -> Comparison:
    fields = _ROW_FIELDS[gold.kind]
    gold_rows = gold.indicators
    pred_rows = pred.indicators if pred and pred.kind == gold.kind else []
    c = Comparison(rows_expected=len(gold_rows))
    for i, j in _pair_rows(gold_rows, pred_rows):
        g = gold_rows[i]
        p = pred_rows[j] if j is not None else None
        c.rows_found += p is not None
        for f in fields:
            gv, pv = getattr(g, f), getattr(p, f, None) if p is not None else None
            c.fields += 1
            if p is not None and values_equal(f, gv, pv):
                c.right += 1
            else:
                c.misses.append(Miss(document=document, form=label, field=f"indicators[{i}].{f}", gold=gv,
                                     predicted=pv))
    return c


def _pair_rows(gold: list, predicted: list) -> list[tuple[int, int | None]]:
    """Gold row index → predicted row index (or None), keeping table order."""
    key = lambda r: clean(f"{r.name or ''}|{r.target or ''}")  # noqa: E731
    matcher = difflib.SequenceMatcher(None, [key(r) for r in gold], [key(r) for r in predicted], autojunk=False)
    pairs: dict[int, int | None] = {i: None for i in range(len(gold))}
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("equal", "replace"):
            for k in range(min(i2 - i1, j2 - j1)):
                pairs[i1 + k] = j1 + k
    return sorted(pairs.items())
