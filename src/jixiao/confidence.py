"""Confidence per field and per form, from evidence the pipeline has, with its reasons.

Every field starts near sure and loses confidence for each piece of evidence against it:
the back-end's own notes (a label filled up from below, a name rejoined over a page), a
value not found in the text it came from, a rule it fails. A form is as sure as its least
sure field. Each factor is listed in `confidence_reasons`, so a reviewer sees why."""

from __future__ import annotations

from . import taxonomy
from .compare import LONG_TEXT_ALIKE, LONG_TEXTS
from .ingest.ocr import OCR_SURE
from .schema import Form, format_values, row_cell, row_index
from .text import compact
from .validate.common import is_num
from .validate.confirm import confirmed
from .validate.doubts import doubted
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
    # Text in the indicator table read into no cell: a label or a value of some row was lost.
    "stray_text": 0.75,
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
# A value found as printed that the form's own text contradicts or the template has no room for
# (validate/doubts.py: a total not its parts' sum, a rate printed twice differently, a year no form
# has, 达成日标): the text may hold another program's misread, so a person looks.
DOUBT = 0.7
AGREEMENT = 0.25
# A paragraph (a goal, a deviation) is right when it is LONG_TEXT_ALIKE like the printed one
# (FORMAT.md): when so few of its characters are in doubt that it would be right even if every
# one of them were misread, they are no doubt about it.
LONG_TEXT_SLACK = 1 - LONG_TEXT_ALIKE
OCR_FLOOR = 0.3
# Notes whose doubt is which printed figure a value is: a value the form's arithmetic
# confirms (validate/confirm.py) was placed right.
CONFIRMABLE = frozenset({"default_columns"})
# The OCR reader's confidence in a field's least sure character (raw) → how far the field is
# to be trusted, measured on the scan set (`python evals/calibration.py OUT --curve`). A value
# of one character read alone in its cell (a 0 score, a 0 target) is on its own scale: the
# recogniser, shown a lone mark without neighbours, is unsure of what it reads right (all
# of 0.5–0.9 right on every variant measured). In a longer value a doubtful character is a
# misread or a mark that is not there often enough that, unconfirmed, the form is reviewed.
OCR_CURVE = ((OCR_FLOOR, OCR_FLOOR), (OCR_SURE, 0.79))
LONE_CURVE = ((OCR_FLOOR, OCR_FLOOR), (0.5, 0.9), (OCR_SURE, 0.95))
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
            reasons.append(f"{_listed(hit)}: {why} (×{factor:g})")

    found: dict[str, list[str]] = {}  # a row's notes name it again and again: its paths found once

    def note_targets(field: str) -> list[str]:
        if field not in found:
            found[field] = _note_targets(field, conf)
        return found[field]

    values = Values(form, source)
    # A value a reviewer confirmed against the page, still as confirmed: no reading doubt is left on it.
    vouched = {p: "复核人员已对照原表确认 / a reviewer confirmed it against the page"
               for p, value in form.confirmed_by_reviewer.items() if p in conf and values.get(p) == value}
    sure = {**confirmed(values), **vouched}
    spared: set[str] = set()

    def unconfirmed(targets: list[str], by: dict[str, str] = sure) -> list[str]:
        spared.update(p for p in targets if p in by)
        return [p for p in targets if p not in by]

    agreed = []
    for note in form.notes:
        if note.code == "agreement":
            agreed += note_targets(note.field)
            continue
        factor = NOTE_FACTORS.get(note.code, 0.9)
        targets = note_targets(note.field)
        if note.code in CONFIRMABLE or vouched:
            targets = unconfirmed(targets, sure if note.code in CONFIRMABLE else vouched)
        if note.code == "filled_down":
            targets = [p for p in targets if not _label_confirmed(form, p)]
        if note.code == "implied":
            borne = [p for p in targets if _implied_borne_out(form, p)]
            targets = [p for p in targets if p not in borne]
            if borne:
                reasons.append(f"{', '.join(borne)}: 二级所属的一级，三级指标与下一行印出的一级印证 / the 一级 its 二级 "
                               "belongs to, borne out by the row's 三级 and the 一级 printed on the next row")
        if note.code == "short_row" and any(box.unit == "px" for box in form.field_boxes.values()):
            # A scanned funds row short of values, read left to right: the amounts left blank may
            # be figures OCR lost (a lone 0), as a blank value cell may (text loses none); the
            # template leaves a sub-row's 分值/得分 blank, and a rate with no budget to divide
            # by, so those are no guess.
            lost = [p for p in targets if values.get(p) is None and not p.endswith((".weight", ".score"))
                    and not (p.endswith(".execution_rate") and not values.get(p.replace("execution_rate", "annual_budget")))]
            lower(lost, NOTE_FACTORS["blank_value"], f"{note.code}: {note.message}")
            targets = [p for p in targets if p not in lost]
        lower(targets, factor, f"{note.code}: {note.message}")
    for path, box in form.field_boxes.items():
        if path.rsplit(".", 1)[-1] in LONG_TEXTS and box.unsure is not None and box.unsure <= LONG_TEXT_SLACK:
            continue
        if box.confidence is not None and box.confidence < OCR_SURE:
            # A doubt about the reading: it lowers extraction confidence too, so the form is routed.
            lower(unconfirmed(_ocr_targets(form, path, conf)), ocr_trust(box.confidence, one_character(values.get(path))),
                  f"OCR 识别置信度 {box.confidence:.2f}（第 {box.page} 页）/ "
                  f"OCR read it with confidence {box.confidence:.2f} (page {box.page})")
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
    for path, why in doubted(values, form.findings).items():
        if path in conf:  # one reason a field, as the review page shows it beside the field's place
            lower([path], DOUBT, why)
            extraction[path] = extraction.get(path, BASE) * DOUBT
    for p in agreed:
        # Two back-ends reading the same value independently cut the remaining doubt.
        conf[p] = 1 - (1 - conf[p]) * AGREEMENT
        extraction[p] = 1 - (1 - extraction[p]) * AGREEMENT
    if agreed:
        reasons.append(f"{len(agreed)} fields read the same by both back-ends (doubt ×{AGREEMENT:g})")
    for why in sorted({sure[p] for p in spared}):
        paths = sorted(p for p in spared if sure[p] == why)
        reasons.append(f"{_listed(paths)}: 经核对无误，不计识别疑点 / "
                       f"confirmed, its reading's doubt set aside: {why}")
    form.extraction_confidence = _rounded(extraction)
    form.field_confidence = _rounded(conf)
    form.confidence = round(min(conf.values(), default=BASE), 4)
    form.confidence_reasons = reasons
    return form


def _listed(paths: list[str]) -> str:
    """The first four paths a reason names, ` …` when there are more."""
    return f"{', '.join(paths[:4])}{' …' if len(paths) > 4 else ''}"


def _rounded(conf: dict[str, float]) -> dict[str, float]:
    # Most fields keep BASE, which rounding would give back as it is: only the others are rounded.
    return {p: c if c == BASE else round(c, 4) for p, c in conf.items()}


def _note_targets(field: str, conf: dict[str, float]) -> list[str]:
    """The field paths a note speaks of: a field, a whole row (`indicators[3]`) or a section."""
    if field in conf:
        return [field]
    return [p for p in conf if p.startswith(field) and p[len(field):len(field) + 1] in (".", "[")]


def ocr_trust(raw: float, lone: bool = False) -> float:
    """How far a field whose least sure character the OCR reader read at `raw` is to be
    trusted: the reader's own scale mapped onto how often such fields are right (OCR_CURVE,
    or LONE_CURVE for a value of one character)."""
    points = LONE_CURVE if lone else OCR_CURVE
    if raw <= points[0][0]:
        return points[0][1]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if raw <= x1:
            return y0 + (y1 - y0) * (raw - x0) / (x1 - x0)
    return points[-1][1]


def one_character(value: object) -> bool:
    """A value printed as one character: a 0 score, a 0 target."""
    if isinstance(value, str):
        return len(compact(value)) == 1
    return is_num(value) and value in range(10)


def _ocr_targets(form: Form, path: str, conf: dict[str, float]) -> list[str]:
    """The fields an OCR box's doubt falls on. A field's own box: that field. A whole row's
    box (its cells' characters): the row's fields that have no box of their own (theirs
    already counts), except a 一级/二级 label read as one of the template's: a misread
    character would not leave a label of the template's vocabulary."""
    targets = _note_targets(path, conf)
    if path not in conf:  # a row or a section
        targets = [p for p in targets if p not in form.field_boxes and not _template_label(form, p)]
    return targets


def _template_label(form: Form, path: str) -> bool:
    if not path.endswith((".level1", ".level2")):
        return False
    row, level = _row_of(form, path)
    return row is not None and taxonomy.is_full_label(getattr(row, level) or "")


def _label_confirmed(form: Form, path: str) -> bool:
    """A 一级/二级 label taken from the group above (a blank cell under a merged label) that
    the row itself confirms: a 一级 whose row's 二级 belongs under it alone in the template
    (it is as sure as that 二级, whose own doubt stays with it; an `implied` 一级 is not: its
    cell not read where the layout puts it, the 二级 beside it may be misplaced too);
    a 二级 whose kind the row's words and values have, and not that of the next group's 二级."""
    row, level = _row_of(form, path)
    if row is None:
        return False
    if level == "level1":
        return _sole_parent(row)
    index = row_index(path)
    after = next((r.level2 for r in form.indicators[index + 1:] if r.level2 and r.level2 != row.level2), None)
    values = _row_values(row)
    return bool(row.level2) and (taxonomy.side((row.name, values), row.level2, after) == "above" if after
                                 else taxonomy.fits(row.level2, row.name, values))


def _implied_borne_out(form: Form, path: str) -> bool:
    """A 一级 not printed on its row, implied by its 二级 (which belongs under it alone in the
    template), that the form bears out: the row's 三级 and values are of the 二级's kind (the
    二级 is the row's, not a neighbour's read into it), and the next row prints that same 一级
    over a 二级 of its own under it (a merged 一级 cell prints its label at its middle, a row or
    more below the group's first). Either alone is not enough: a 二级 read from the wrong row
    fits its own group's rows, and a row placed in the group below may be of the group above."""
    row, level = _row_of(form, path)
    if row is None or level != "level1" or not _sole_parent(row):
        return False
    index = row_index(path)
    after = form.indicators[index + 1] if index + 1 < len(form.indicators) else None
    printed = after is not None and not any(n.code == "implied" and n.field == f"indicators[{index + 1}].level1"
                                            for n in form.notes)
    return (printed and after.level1 == row.level1 and after.level2 != row.level2
            and row.level1 in taxonomy.parent_of(after.level2 or "")
            and taxonomy.fits(row.level2, row.name, _row_values(row)))


def _sole_parent(row) -> bool:
    """Whether the row's 一级 is the only one its 二级 belongs under in the template."""
    return bool(row.level1) and taxonomy.parent_of(row.level2 or "") == (row.level1,)


def _row_values(row) -> tuple:
    """A row's target and actual (a declaration's row has no actual), as taxonomy.fits takes them."""
    return (row.target, getattr(row, "actual", None))


def _row_of(form: Form, path: str):
    """(indicator row, "level1"/"level2"/field) for an `indicators[i].field` path, else (None, "")."""
    cell = row_cell(path)
    rows = form.indicators
    return (rows[cell[0]], cell[1]) if cell and cell[0] < len(rows) else (None, "")
