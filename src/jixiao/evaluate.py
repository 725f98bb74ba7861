"""Predictions against hand-labelled gold, field by field, by the FORMAT.md rules.

Values are compared and indicator rows paired as `compare.py` does (numbers within 1e-6
relative, texts after NFKC, whitespace and HTML-tag removal, rows by an optimal assignment).
Forms pair by project name within a document (an unpaired gold form scores all its fields
wrong)."""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from .compare import clean, pair_rows, values_equal
from .schema import (
    FORM_FIELDS, ROW_FIELDS, Comparison, ConfidenceReport, DocumentRecord, EvalReport, FieldResult, FieldScore, Form, FormResult, Miss,
    TradeOff, format_values, value_at,
)

REVIEW_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5)
_SHARED = frozenset(FORM_FIELDS["self_evaluation"]) & frozenset(FORM_FIELDS["target_declaration"])  # both kinds have


# --- one document -----------------------------------------------------------------------

def compare_documents(gold: DocumentRecord, predicted: DocumentRecord | None) -> Comparison:
    """Every gold field of every gold form scored against one predicted document."""
    forms = score_document(gold, predicted)
    return Comparison.from_forms(forms)


def score_document(gold: DocumentRecord, predicted: DocumentRecord | None) -> list[FormResult]:
    """A result per gold form, then one per predicted form that no gold form paired with."""
    pred_forms = list(predicted.forms) if predicted else []
    unused = list(range(len(pred_forms)))
    results = []
    for gi, g in enumerate(gold.forms):
        j = next((j for j in unused if clean(pred_forms[j].project_name or "") == clean(g.project_name or "")),
                 None)
        if j is not None:
            unused.remove(j)
        results.append(_score_form(gold.document, gi, g, pred_forms[j] if j is not None else None, j))
    for j in unused:
        p = pred_forms[j]
        results.append(FormResult(document=gold.document, form=p.project_name or f"#{j + 1}", gold_index=None,
                                  predicted_index=j, rows_predicted=len(p.indicators),
                                  confidence=_confidence(p)))
    return results


def _score_form(document: str, gi: int, gold: Form, pred: Form | None, pj: int | None) -> FormResult:
    label = gold.project_name or f"#{gi + 1}"
    fields: list[FieldResult] = []
    confidences = _field_confidences(pred)

    def add(path: str, key: str, g, p, present: bool = True, confidence_path: str | None = "") -> None:
        right = present and pred is not None and values_equal(key.rsplit(".", 1)[-1], g, p)
        # A predicted row's confidence is under its own index, which pairing may have moved.
        conf = confidences.get(path if confidence_path == "" else confidence_path or "")
        fields.append(FieldResult(field=key, path=path, gold=g, predicted=p, right=right, confidence=conf))

    same_kind = pred is not None and pred.kind == gold.kind
    for path, g, p in _form_values(gold, pred):
        # A form read as the wrong kind gets only the fields both kinds share.
        add(path, path, g, p, present=same_kind or path in _SHARED)
    gold_rows = gold.indicators
    pred_rows = pred.indicators if pred is not None and pred.kind == gold.kind else []
    pairs = pair_rows(gold_rows, pred_rows)
    rows_right = 0
    for i, g_row in enumerate(gold_rows):
        j = pairs.get(i)
        p_row = pred_rows[j] if j is not None else None
        start = len(fields)
        for f in ROW_FIELDS[gold.kind]:
            pv = getattr(p_row, f, None) if p_row is not None else None
            add(f"indicators[{i}].{f}", f"indicators.{f}", getattr(g_row, f), pv, present=p_row is not None,
                confidence_path=f"indicators[{j}].{f}" if j is not None else None)
        rows_right += p_row is not None and all(r.right for r in fields[start:])
    return FormResult(document=document, form=label, gold_index=gi, predicted_index=pj, fields=fields,
                      rows_expected=len(gold_rows), rows_found=len(pairs), rows_right=rows_right,
                      rows_predicted=len(pred_rows) if pred is not None else 0,
                      confidence=_confidence(pred) if pred is not None else None)


def _form_values(gold: Form, pred: Form | None):
    """(path, gold value, predicted value) for the form's fields and funds (rows are paired apart)."""
    for path, value in format_values(gold, rows=False):
        yield path, value, value_at(pred, path)


def _confidence(form: Form | None) -> float | None:
    value = getattr(form, "confidence", None) if form is not None else None
    return float(value) if isinstance(value, (int, float)) else None


def _field_confidences(form: Form | None) -> dict[str, float]:
    raw = getattr(form, "field_confidence", None) if form is not None else None
    return {k: float(v) for k, v in raw.items() if isinstance(v, (int, float))} if isinstance(raw, dict) else {}


# --- a whole run --------------------------------------------------------------------------

def evaluate(gold: list[DocumentRecord], predicted: list[DocumentRecord]) -> EvalReport:
    """Every metric of a run: fields, forms, rows, documents, misses and confidence."""
    pairs = _pair_documents(gold, predicted)
    forms: list[FormResult] = []
    for g in gold:
        forms += score_document(g, pairs.get(g.document))
    paired = {id(p) for p in pairs.values()}
    for p in predicted:
        if id(p) not in paired:
            forms += score_document(DocumentRecord(document=p.document, forms=[]), p)
    return build_report(forms)


def _pair_documents(gold: list[DocumentRecord], predicted: list[DocumentRecord]) -> dict[str, DocumentRecord]:
    """Gold document name → its prediction: the same name, else the one prediction with the
    same stem (a scan or PDF of the text the gold was labelled from)."""
    by_name = {p.document: p for p in predicted}
    stems: dict[str, list[DocumentRecord]] = {}
    for p in predicted:
        stems.setdefault(Path(p.document).stem, []).append(p)
    gold_names = {g.document for g in gold}
    pairs = {}
    for g in gold:
        if g.document in by_name:
            pairs[g.document] = by_name[g.document]
            continue
        same_stem = [p for p in stems.get(Path(g.document).stem, []) if p.document not in gold_names]
        if len(same_stem) == 1:
            pairs[g.document] = same_stem[0]
    return pairs


def build_report(forms: list[FormResult]) -> EvalReport:
    fields = [f for form in forms for f in form.fields]
    per_field: dict[str, FieldScore] = {}
    for f in fields:
        score = per_field.setdefault(f.field, FieldScore())
        score.total += 1
        score.right += f.right
    gold_forms = [f for f in forms if f.gold_index is not None]
    pred_forms = [f for f in forms if f.predicted_index is not None]
    paired = [f for f in gold_forms if f.predicted_index is not None]
    rows_right = sum(f.rows_right for f in forms)
    rows_expected = sum(f.rows_expected for f in forms)
    rows_predicted = sum(f.rows_predicted for f in forms)
    precision = _ratio(rows_right, rows_predicted)
    recall = _ratio(rows_right, rows_expected)
    per_document: dict[str, Comparison] = {}
    for doc, items in _group(forms, lambda f: f.document).items():
        per_document[doc] = Comparison.from_forms(items)
    return EvalReport(
        overall=_ratio(sum(f.right for f in fields), len(fields)),
        fields_total=len(fields), fields_right=sum(f.right for f in fields),
        per_field=dict(sorted(per_field.items())),
        form_precision=_ratio(len(paired), len(pred_forms)), form_recall=_ratio(len(paired), len(gold_forms)),
        row_precision=precision, row_recall=recall,
        row_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        row_completeness=[{"document": f.document, "form": f.form, "expected": f.rows_expected,
                           "found": f.rows_found} for f in gold_forms],
        per_document=per_document,
        misses=[Miss(document=form.document, form=form.form, field=f.path, gold=f.gold, predicted=f.predicted)
                for form in forms for f in form.fields if not f.right],
        confidence=confidence_report(forms),
    )


def _group(items, key):
    out = defaultdict(list)
    for item in items:
        out[key(item)].append(item)
    return out


def _ratio(a: float, b: float) -> float:
    return a / b if b else 1.0


# --- confidence ---------------------------------------------------------------------------

def auroc(confidence: list[float], wrong: list[bool]) -> float | None:
    """How well low confidence ranks errors: P(a right item outranks a wrong one), ties half.
    0.5 is no better than chance; None when only one class is present."""
    right_scores = [c for c, w in zip(confidence, wrong) if not w]
    wrong_scores = [c for c, w in zip(confidence, wrong) if w]
    if not right_scores or not wrong_scores:
        return None
    ranks = _average_ranks(right_scores + wrong_scores)
    rank_sum = sum(ranks[: len(right_scores)])
    n_right, n_wrong = len(right_scores), len(wrong_scores)
    return (rank_sum - n_right * (n_right + 1) / 2) / (n_right * n_wrong)


def _average_ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def ece(confidence: list[float], right: list[bool], bins: int = 10) -> float | None:
    """Expected calibration error: the mean |accuracy − confidence| over equal-width bins."""
    if not confidence:
        return None
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(confidence) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if idx:
            acc = sum(right[i] for i in idx) / len(idx)
            conf = sum(confidence[i] for i in idx) / len(idx)
            total += len(idx) / len(confidence) * abs(acc - conf)
    return total


def review_tradeoff(confidence: list[float], right: list[bool],
                    fractions: tuple[float, ...] = REVIEW_FRACTIONS) -> list[TradeOff]:
    """Review the lowest-confidence X of forms → how right the accepted rest is."""
    order = sorted(range(len(confidence)), key=confidence.__getitem__)
    out = []
    for fraction in fractions:
        reviewed = math.ceil(fraction * len(order) - 1e-9)
        accepted = order[reviewed:]
        out.append(TradeOff(review_fraction=fraction, reviewed=reviewed, accepted=len(accepted),
                            accepted_accuracy=_ratio(sum(right[i] for i in accepted), len(accepted))))
    return out


def confidence_report(forms: list[FormResult]) -> ConfidenceReport | None:
    scored_forms = [f for f in forms if f.gold_index is not None and f.confidence is not None]
    scored_fields = [x for f in forms for x in f.fields if x.confidence is not None]
    if not scored_forms and not scored_fields:
        return None
    form_conf = [f.confidence for f in scored_forms]
    form_right = [all(x.right for x in f.fields) for f in scored_forms]
    field_conf = [x.confidence for x in scored_fields]
    field_right = [x.right for x in scored_fields]
    return ConfidenceReport(
        forms=len(scored_forms), fields=len(scored_fields),
        form_auroc=auroc(form_conf, [not r for r in form_right]), form_ece=ece(form_conf, form_right),
        field_auroc=auroc(field_conf, [not r for r in field_right]), field_ece=ece(field_conf, field_right),
        tradeoff=review_tradeoff(form_conf, form_right) if scored_forms else [],
    )
