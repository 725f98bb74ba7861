"""Why a form is in review, in words a reviewer reads: its doubts grouped by the place on the
form they concern (the header, a fund row, an indicator row, named by the form's own Chinese
labels), its findings with the cells they involve, and its printed boxes marked for the page
view (low confidence, in a finding). Built from the record alone, so a store written by an
earlier version explains its forms too."""

from __future__ import annotations

import re

from pydantic import BaseModel

from ..confidence import NOT_IN_SOURCE_WHY
from ..ingest.ocr import OCR_SURE
from ..route import DEFAULT_THRESHOLD
from ..schema import (FIELD_LABELS, FUND_ROW_LABELS, ROW_FIELDS, DeclarationFunds, Finding, Form, FundRow,
                      SelfEvaluationFunds, field_label, row_index)
from ..validate.doubts import DOUBTS
from .pages import box_scale

# The fund rows and columns as the review page lays them out, named by the one table (schema.py);
# a total's first part as the form prints it, after 其中： ("of which"): the rows below a total
# add up to it, and the reviewer checks them against the printed form.
_FIRST_PARTS = ("current_year", "project_fiscal", "annual_current_year")


def _printed_rows(funds: type[BaseModel]) -> dict[str, str]:
    """A funds model's rows, each by its label as the form prints it."""
    return {row: "其中：" * (row in _FIRST_PARTS) + FUND_ROW_LABELS[row] for row in funds.model_fields}


FUND_ROWS = _printed_rows(SelfEvaluationFunds)
FUND_COLS = {column: FIELD_LABELS[column] for column in FundRow.model_fields}
DECL_FUNDS = _printed_rows(DeclarationFunds)

# What each note of a back-end means, in plain words (the note's own message gives the detail).
NOTE_TEXT = {
    "not_found": "原文中没有找到这个值 / the value was not found in the text",
    "name_missing": "缺少指标名称 / the indicator's name is missing",
    "partial_label": "标签只认出一部分 / only part of the label was recognised",
    "level_ambiguous": "合并单元格的一级/二级指标归属不确定（看原表该行在哪一组）/ which 一级/二级 group the row "
                       "belongs to is unclear: see where the merged cell ends on the page",
    "level_placed": "一级/二级指标按标准分值比例归组 / the row was put under a 一级/二级 group by the standard weight shares",
    "default_columns": "没有找到表头，按默认列序读取 / no column headers found: read in the default column order",
    "stranded_fragment": "有零散文字并入了相邻单元格 / a stray piece of text was joined to a neighbouring cell",
    "deviation_by_layout": "偏差原因按版面位置归属 / the deviation text was assigned by its place on the page",
    "implied": "数值是推算的，表上没印 / the value is implied, not printed",
    "filled_up": "标签取自下方的合并单元格 / the label was taken from a merged cell printed below",
    "filled_down": "标签取自上方的合并单元格 / the label was taken from a merged cell printed above",
    "short_row": "这一行印出的数比列少，从左往右填 / the row printed fewer figures than columns: read left to right",
    "assumed_blank": "视为空白 / taken as blank",
    "rejoined": "跨行断开的文字已拼接 / text broken over lines was joined",
    "after_break": "在分页之后 / read after a page break",
    "floating_label": "标签印在单元格之外 / a label printed outside its cell",
    "disagreement": "两个后端读得不一样 / the two back-ends read it differently",
    "rows_missing": "可能漏读了几行 / rows may be missing",
    "value_in_name": "名称里夹着数值 / a value printed within the name",
    "label_in_name": "名称里夹着标签 / a label printed within the name",
    "no_title": "没有表题，按表体认出 / no title: recognised by its body",
    "cell_sequence": "按单元格先后配对（一格一行的文字）/ paired by order alone (one cell per line)",
    "unknown_label": "不认识的标签 / a label the template does not have",
    "not_a_number": "应为数字却不是 / should be a number and is not",
    "blank_value": "值为空 / the value is blank",
    "stray_text": "表内有文字没读进任何单元格 / text in the table was not read into any cell",
    "columns_misaligned": "列没有对齐 / the columns do not line up",
    "column_twice": "同一字段有几列，取了最后一列 / several columns hold one field: the last was read",
    "reask_failed": "大模型多次重答仍不合格式 / the LLM's answers stayed malformed after re-asking",
}
TRIAGE_TEXT = {
    "source_inconsistency": "原表自身的数字不一致（照印录入，不是读错）/ the form's own printed figures disagree "
                            "(kept as printed, not a misreading)",
    "extraction_suspect": "可能读错，请对照原表 / possibly misread: check it against the page",
    "unverified": "无法核实，请看一眼 / could not be verified: take a look",
}
_FIELD_DOUBT = re.compile(r"^(?P<path>\S+) confidence [\d.]+ < [\d.]+$")
_SUSPECT = re.compile(r"^\S+: extraction suspect in ")


class Place(BaseModel):
    """One place on the form that keeps it in review, and why."""

    key: str
    label: str
    confidence: float
    cells: str
    why: list[str]
    first: str
    rows: list[str] = []


class FindingView(BaseModel):
    """A finding as a reviewer reads it: what the rule says, of which cells, and whose error it is."""

    code: str
    severity: str
    triage: str | None
    triage_text: str
    message: str
    fields: list[str]
    where: str


def place_of(form: Form, path: str) -> str:
    """The place a FORMAT.md path is on: `header`, `funds.total` (a fund row), `funds`
    (a declaration's funds), `indicators[3]`, or `form` (a whole section)."""
    i = row_index(path)
    if i is not None:
        return f"indicators[{i}]"
    if path.startswith("funds."):
        parts = path.split(".")
        return f"funds.{parts[1]}" if form.kind == "self_evaluation" and len(parts) > 2 else "funds"
    return "header" if path in FIELD_LABELS else "form"


def place_label(form: Form, place: str) -> str:
    i = row_index(place)
    if i is not None:
        name = form.indicators[i].name if i < len(form.indicators) else None
        return f"第 {i + 1} 行指标「{name or '（无名称）'}」/ indicator row {i + 1}"
    if place.startswith("funds."):
        return f"资金·{FUND_ROW_LABELS.get(place[6:], place[6:])} / funds row"
    return {"header": "表头 / header", "funds": "项目资金 / funds", "form": "整张表 / the whole form"}[place]


def _own_cell(path: str) -> str | None:
    """A cell's label; None for a whole row's box (`indicators[3]`), named by its place."""
    return field_label(path) if "." in path or path in FIELD_LABELS else None


def cells_named(form: Form, place: str, paths: list[str]) -> str:
    """The cells of one place, by their labels; a row all of whose cells are named, `整行`."""
    if row_index(place) is not None and len(set(paths)) >= len(ROW_FIELDS[form.kind]):
        return "整行 / the whole row"
    return "、".join(dict.fromkeys(field_label(p) for p in paths))


def doubts(form: Form) -> list[Place]:
    """The places whose reading is less sure than the form's threshold, in the form's order,
    each with its lowest confidence, the cells in doubt and the reasons, in plain words."""
    threshold = form.route.threshold if form.route else DEFAULT_THRESHOLD
    confidence = form.extraction_confidence or form.field_confidence
    low: dict[str, list[str]] = {}
    for path, value in confidence.items():
        if value < threshold:
            low.setdefault(place_of(form, path), []).append(path)
    why = _reasons_by_place(form)
    places = [Place(key=place, label=place_label(form, place), confidence=min(confidence[p] for p in paths),
                    cells=cells_named(form, place, paths), why=list(dict.fromkeys(why.get(place, []))), first=paths[0],
                    rows=[place] if row_index(place) is not None else [])
              for place, paths in low.items()]
    return _runs_of_rows(form, places)


def _runs_of_rows(form: Form, places: list[Place]) -> list[Place]:
    """Consecutive indicator rows with the same cells in doubt for the same reasons, as one
    place (`第 19–25 行指标`): a merged 二级 cell in doubt puts all its rows in doubt at once."""
    out: list[Place] = []
    for place in places:
        last = out[-1] if out else None
        if last and last.rows and place.rows and (last.cells, last.why) == (place.cells, place.why) \
                and row_index(place.rows[0]) == row_index(last.rows[-1]) + 1:
            last.rows.append(place.rows[0])
            last.confidence = min(last.confidence, place.confidence)
            first, end = row_index(last.rows[0]), row_index(last.rows[-1])
            names = [form.indicators[i].name or "？" for i in (first, end)]
            last.label = (f"第 {first + 1}–{end + 1} 行指标（{len(last.rows)} 行：「{names[0]}」至「{names[1]}」）/ "
                          f"indicator rows {first + 1}–{end + 1}")
        else:
            out.append(place)
    return out


def form_reasons(form: Form) -> list[str]:
    """Why the whole form is in review, beyond its places' doubts: it could not be read, its
    file changed after review, a note on a whole section."""
    out = [f"提取失败 / extraction failed: {form.error}"] if form.error else []
    for reason in form.route.reasons if form.route else []:
        if not (_FIELD_DOUBT.match(reason) or _SUSPECT.match(reason) or reason.startswith("extraction failed: ")):
            out.append(reason)
    out += _reasons_by_place(form).get("form", [])
    return list(dict.fromkeys(out))


def findings_explained(form: Form, findings: list[Finding] | None = None) -> list[FindingView]:
    """Each finding with the cells it involves named by place and label, and whose error it is."""
    return [FindingView(code=f.code, severity=f.severity, triage=f.triage, triage_text=TRIAGE_TEXT.get(f.triage or "", ""),
                        message=f.message, fields=f.fields, where=where(form, f.fields))
            for f in (form.findings if findings is None else findings)]


def where(form: Form, paths: list[str]) -> str:
    """`第 5 行指标「…」：得分、分值；表头 / header：总分得分`: paths grouped by place."""
    grouped: dict[str, list[str]] = {}
    for path in paths:
        grouped.setdefault(place_of(form, path), []).append(path)
    return "；".join(f"{place_label(form, place)}：{cells_named(form, place, group)}" for place, group in grouped.items())


def page_boxes(form: Form) -> list[dict]:
    """The form's printed boxes in page-image pixels, each marked `low` (read with less
    confidence than the threshold, or an unsure OCR) and `finding` (a cell a finding names)."""
    threshold = form.route.threshold if form.route else DEFAULT_THRESHOLD
    confidence = form.extraction_confidence or form.field_confidence
    named = {p for f in form.findings if f.severity != "info" for p in f.fields}
    out = []
    for path, box in form.field_boxes.items():
        scale = box_scale(box.unit)
        inside = [p for p in confidence if p == path or p.startswith(path + ".")]
        low = any(confidence[p] < threshold for p in inside) or (box.confidence is not None and box.confidence < OCR_SURE)
        out.append({"path": path, "page": box.page, "left": round(box.left * scale, 1), "top": round(box.top * scale, 1),
                    "width": round((box.right - box.left) * scale, 1), "height": round((box.bottom - box.top) * scale, 1),
                    "low": low, "finding": any(p == path or p.startswith(path + ".") for p in named),
                    "label": f"{place_label(form, place_of(form, path))} {_own_cell(path) or ''}".strip(),
                    "ocr": box.confidence})
    return out


def _reasons_by_place(form: Form) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for note in form.notes:
        if note.code in ("agreement", "blank_cell"):
            continue  # no doubt: nothing to explain
        plain = NOTE_TEXT.get(note.code, note.code)
        out.setdefault(place_of(form, note.field), []).append(f"{plain}（{note.message}）")
    for path, box in form.field_boxes.items():
        if box.confidence is not None and box.confidence < OCR_SURE:
            out.setdefault(place_of(form, path), []).append(
                f"{_own_cell(path) or '这一行'}扫描字迹不清，OCR 置信度 {box.confidence:.2f}"
                f"（第 {box.page} 页）/ OCR was unsure of it ({box.confidence:.2f}, page {box.page})")
    for reason in form.confidence_reasons:
        path, _, why = reason.split(" (×")[0].partition(": ")
        if why == NOT_IN_SOURCE_WHY:
            out.setdefault(place_of(form, path), []).append(
                f"{field_label(path)}的值在原文中找不到 / the {field_label(path)} value is not in the source text")
        elif why in DOUBTS:
            out.setdefault(place_of(form, path), []).append(f"{field_label(path)}：{why}")
    for f in form.findings:
        if f.triage == "extraction_suspect":
            for place in dict.fromkeys(place_of(form, p) for p in (f.suspect_fields or f.fields)):
                out.setdefault(place, []).append(f"{f.code}：{TRIAGE_TEXT['extraction_suspect']}（{f.message}）")
    return out
