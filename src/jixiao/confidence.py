"""Confidence per field and per form, from evidence the pipeline has, with its reasons.

Every field starts near sure and loses confidence for each piece of evidence against it:
the back-end's own notes (a label filled up from below, a name rejoined over a page), a
value not found in the text it came from, a rule it fails. A form is as sure as its least
sure field. Each factor is listed in `confidence_reasons`, so a reviewer sees why."""

from __future__ import annotations

from .schema import Form, format_values
from .validate.triage import found_in_source
from .validate.values import Values

BASE = 0.99
# How much a note of the back-end lowers the fields it names (1.0: no effect).
NOTE_FACTORS = {
    "not_found": 0.3, "name_missing": 0.3, "partial_label": 0.5, "level_ambiguous": 0.45,
    "default_columns": 0.6, "stranded_fragment": 0.7, "deviation_by_layout": 0.75, "implied": 0.85,
    "filled_up": 0.8, "short_row": 0.85, "assumed_blank": 0.85, "rejoined": 0.97, "after_break": 0.97,
    "floating_label": 0.97, "blank_cell": 1.0, "disagreement": 0.7, "rows_missing": 0.5, "value_in_name": 0.5, "label_in_name": 0.5,
    # A form found by its body, its kind read off its columns: a reviewer confirms it is a form.
    "no_title": 0.75,
    # A reader that pairs by order alone (pdftotext's one cell per line): never accepted unseen.
    "cell_sequence": 0.75,
    # The grid reader guessing: a label it does not know, a cell that should be a number and is not.
    "unknown_label": 0.75, "not_a_number": 0.3, "filled_down": 0.8, "column_twice": 0.6,
    "blank_value": 0.75,
    # A declaration's year read off its planned dates (its title, which prints it, not there).
    "year_from_plan": 0.85,
    # An LLM's value not printed where it sits (still so after a re-ask): another row's, another group's label.
    "misplaced": 0.3,
    # The form states its amount unit twice, differently (项目资金（元） and 本表金额单位为万元): either may be meant.
    "unit_disagrees": 0.3,
    # An LLM's rows with no reading of their groups to check their labels against: never accepted unseen.
    "unplaced": 0.75,
}
FINDING_FACTORS = {"extraction_suspect": 0.2, "unverified": 0.6, "source_inconsistency": 0.7, None: 0.8}
SEVERITY_WEIGHT = {"error": 1.0, "warning": 0.5, "info": 0.15}
NOT_IN_SOURCE = 0.4
AGREEMENT = 0.25
OCR_SURE = 0.9  # an OCR character read with less confidence than this lowers its field
OCR_FLOOR = 0.3
NOT_IN_SOURCE_WHY = "value not found in its source text"  # the review page finds these reasons by it


def score(form: Form, source: str | None) -> Form:
    """The form with `confidence`, `field_confidence` and `confidence_reasons` filled in."""
    fields = list(format_values(form))
    conf = dict.fromkeys((path for path, _ in fields), BASE)
    reasons: list[str] = []

    def lower(targets: list[str], factor: float, why: str) -> None:
        hit = [p for p in targets if p in conf]
        for p in hit:
            conf[p] *= factor
        if hit and factor < 1.0:
            reasons.append(f"{', '.join(hit[:4])}{' …' if len(hit) > 4 else ''}: {why} (×{factor:g})")

    targets: dict[str, list[str]] = {}  # a row's notes name it again and again: its paths found once

    def note_targets(field: str) -> list[str]:
        if field not in targets:
            targets[field] = _note_targets(field, conf)
        return targets[field]

    agreed = []
    for note in form.notes:
        if note.code == "agreement":
            agreed += note_targets(note.field)
            continue
        factor = NOTE_FACTORS.get(note.code, 0.9)
        lower(note_targets(note.field), factor, f"{note.code}: {note.message}")
    for path, box in form.field_boxes.items():
        if box.confidence is not None and box.confidence < OCR_SURE:
            # A doubt about the reading: it lowers extraction confidence too, so the form is routed.
            lower(note_targets(path), max(OCR_FLOOR, box.confidence),
                  f"OCR 识别置信度 {box.confidence:.2f}（第 {box.page} 页）/ "
                  f"OCR read it with confidence {box.confidence:.2f} (page {box.page})")
    values = Values(form, source)
    for path, value in fields:
        if value is not None and found_in_source(values, path, value) is False:
            lower([path], NOT_IN_SOURCE, NOT_IN_SOURCE_WHY)
    # Doubt about the reading, apart from doubt about the form's own numbers: routing uses it.
    extraction = dict(conf)
    for finding in form.findings:
        weight = SEVERITY_WEIGHT[finding.severity]
        if not weight:
            continue
        targets = finding.suspect_fields or [p for p in finding.fields if p in conf]
        factor = 1 - weight * (1 - FINDING_FACTORS[finding.triage])
        lower(targets, factor, f"{finding.code} {finding.severity} ({finding.triage or 'untriaged'})")
        if finding.triage == "extraction_suspect":
            for p in targets:
                extraction[p] = extraction.get(p, BASE) * factor
    for p in agreed:
        # Two back-ends reading the same value independently cut the remaining doubt.
        conf[p] = 1 - (1 - conf[p]) * AGREEMENT
        extraction[p] = 1 - (1 - extraction[p]) * AGREEMENT
    if agreed:
        reasons.append(f"{len(agreed)} fields read the same by both back-ends (doubt ×{AGREEMENT:g})")
    form.extraction_confidence = _rounded(extraction)
    form.field_confidence = _rounded(conf)
    form.confidence = round(min(conf.values(), default=BASE), 4)
    form.confidence_reasons = reasons
    return form


def _rounded(conf: dict[str, float]) -> dict[str, float]:
    # Most fields keep BASE, which rounding would give back as it is: only the others are rounded.
    return {p: c if c == BASE else round(c, 4) for p, c in conf.items()}


def _note_targets(field: str, conf: dict[str, float]) -> list[str]:
    """The field paths a note speaks of: a field, a whole row (`indicators[3]`) or a section."""
    if field in conf:
        return [field]
    return [p for p in conf if p.startswith(field) and p[len(field):len(field) + 1] in (".", "[")]
