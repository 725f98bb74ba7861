"""Every model that crosses a stage boundary: FORMAT.md records, spans, chunks, extractions."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter
from typing import Annotated, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, computed_field, create_model, field_validator

from .dates import iso_date

FormKind = Literal["self_evaluation", "target_declaration"]


class _ProvenanceMark:
    """Marks a field as jixiao's own bookkeeping (where a value was read, how sure, what the
    checks found, what it cost): extra to FORMAT.md, never asked of an LLM, not a form's field."""

    def __repr__(self) -> str:
        return "Provenance"


_PROVENANCE = _ProvenanceMark()
_T = TypeVar("_T")
Provenance = Annotated[_T, _PROVENANCE]


class Span(BaseModel):
    """A half-open character range [start, end) in the decoded source text."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class FieldBox(BaseModel):
    """Where a field's value was printed: a page and the box around it (from the page's top
    left, in points for a text layer, pixels of the straightened page for OCR), and the OCR
    reader's lowest confidence in its characters (None for a text layer)."""

    page: int
    unit: Literal["pt", "px"]
    left: float
    top: float
    right: float
    bottom: float
    confidence: float | None = None
    unsure: float | None = Field(None, description="for OCR: the share of its characters read with confidence "
                                 "below 0.9 (a paragraph with one doubtful letter in fifty is still right)")


class TextBox(FieldBox):
    """Where a stretch of a PDF's or a scan's text (offsets start–end) was printed."""

    start: int
    end: int
    # Per character, so a field takes the doubt of its own characters only: a run is often
    # more than the field (a year's run holds the brackets and 年度 printed around it).
    confidences: list[float | None] | None = Field(
        default=None, description="for scans: the OCR confidence of each offset start..end-1 (None at a space)")


class Note(BaseModel):
    """Why a back-end is unsure of a value: read by the confidence work and by reviewers."""

    field: str = Field(description="FORMAT.md path of the field, e.g. indicators[3].level2")
    code: str = Field(description="short machine code, e.g. filled_down, not_found")
    message: str


# A note's code: a check of the form (a rule, grounding, the confidence work) failed on data it
# did not foresee; the form is kept and routed to review (route.py, check.guarded).
CHECK_FAILED = "check_failed"

Severity = Literal["error", "warning", "info"]
Triage = Literal["source_inconsistency", "extraction_suspect", "unverified"]


class Finding(BaseModel):
    """One validator result: what was compared, what was expected, and where the values are."""

    code: str = Field(description="rule code from VALIDATION.md, e.g. SE-F1")
    severity: Severity
    message: str = Field(description="中文 / English")
    fields: list[str] = Field(description="FORMAT.md paths of the values involved")
    values: dict[str, object] = Field(default_factory=dict, description="the values compared, by path")
    expected: object = None
    tolerance: float | None = None
    triage: Triage | None = Field(None, description="for a failed rule: is the form wrong, or the extraction?")
    suspect_fields: list[str] = Field(default_factory=list, description="fields not found in their source span")


class FormSource(BaseModel):
    """Where a form came from: its document, its index in that document and its span."""

    document: str
    form_index: int
    span: Span


class _Record(BaseModel):
    # Extra fields are allowed in outputs (FORMAT.md); shape checks only, never arithmetic.
    model_config = ConfigDict(extra="allow")


class FundRow(_Record):
    initial_budget: float | None = Field(None, description="年初预算数")
    annual_budget: float | None = Field(None, description="全年预算数")
    executed: float | None = Field(None, description="全年执行数")
    weight: float | None = Field(None, description="分值 (分数)")
    execution_rate: float | None = Field(None, description="执行率, the percentage number")
    score: float | None = Field(None, description="得分")


# Each fund row (FORMAT.md's funds keys) by the label the forms print for it.
FUND_LABELS = {"total": "年度资金总额", "current_year": "当年财政拨款", "carryover": "上年结转资金", "other": "其他资金",
               "project_total": "项目资金总额", "project_fiscal": "财政资金", "project_other": "其他资金",
               "annual_total": "年度资金申请总额", "annual_current_year": "当年财政拨款", "annual_carryover": "上年结转资金",
               "annual_other": "其他资金"}
# The one table of Chinese labels for FORMAT.md fields, by field name: the header, the fund
# columns and the indicator columns as the template prints them. Review pages, exports and
# messages name a field by it (field_label); a fund row is named by FUND_ROW_LABELS, which
# tells apart the two 其他资金 a declaration prints.
FIELD_LABELS = {"kind": "表类型", "year": "年度", "project_name": "项目名称", "supervising_dept": "主管部门",
                "implementing_unit": "实施单位", "amount_unit": "金额单位", "project_nature": "项目性质",
                "project_category": "项目类别", "planned_start": "计划开始日期", "planned_end": "计划完成日期",
                "goal_expected": "预期目标", "goal_actual": "实际完成情况", "goal_overall": "项目总目标",
                "goal_annual": "年度总体目标", "total_weight": "总分分值", "total_score": "总分得分", "grade": "评分等级",
                "initial_budget": "年初预算数", "annual_budget": "全年预算数", "executed": "全年执行数", "weight": "分值",
                "execution_rate": "执行率", "score": "得分",
                "level1": "一级指标", "level2": "二级指标", "name": "三级指标", "target": "年度指标值",
                "actual": "实际完成值", "deviation": "偏差原因分析及改进措施"}
FUND_ROW_LABELS = {**FUND_LABELS, "project_other": "其他资金(项目)", "annual_other": "其他资金(年度)"}


class SelfEvaluationFunds(_Record):
    total: FundRow = Field(default_factory=FundRow, description="年度资金总额")
    current_year: FundRow = Field(default_factory=FundRow, description="其中：当年财政拨款")
    carryover: FundRow = Field(default_factory=FundRow, description="上年结转资金")
    other: FundRow = Field(default_factory=FundRow, description="其他资金")


class DeclarationFunds(_Record):
    project_total: float | None = Field(None, description="项目资金总额")
    project_fiscal: float | None = Field(None, description="其中：财政资金")
    project_other: float | None = Field(None, description="其他资金 (left column)")
    annual_total: float | None = Field(None, description="年度资金申请总额")
    annual_current_year: float | None = Field(None, description="其中：当年财政拨款")
    annual_carryover: float | None = Field(None, description="上年结转资金")
    annual_other: float | None = Field(None, description="其他资金 (right column)")


class _Indicator(_Record):
    level1: str | None = Field(None, description="一级指标, filled down over merged cells")
    level2: str | None = Field(None, description="二级指标, filled down over merged cells")
    name: str | None = Field(None, description="三级指标")
    target: str | None = Field(None, description="年度(/项目)指标值, whitespace removed")


class DeclarationIndicator(_Indicator):
    span: Provenance[Span | None] = Field(None, description="provenance: the row's text in the source")


class SelfEvaluationIndicator(_Indicator):
    actual: str | None = Field(None, description="实际完成值, whitespace removed")
    weight: float | None = Field(None, description="分值")
    score: float | None = Field(None, description="得分")
    deviation: str | None = Field(None, description="偏差原因分析及改进措施")
    span: Provenance[Span | None] = Field(None, description="provenance: the row's text in the source")


class Route(BaseModel):
    """Where a form goes next, and why."""

    decision: Literal["accepted", "needs_review"]
    threshold: float
    reasons: list[str] = Field(default_factory=list)


class Usage(BaseModel):
    """Requests and tokens a form (or a whole run) cost, re-asks and retries included."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: bool = False
    reasked: list[str] = Field(default_factory=list, description="fields a targeted re-ask named")
    forms: int = 0
    cache_hits: int = 0
    parts: int = Field(1, description="pieces a long form was read in")
    rows_seen: int = Field(0, description="indicator rows the source's table holds, by the rules reader's count")
    reask_failed: str | None = Field(None, description="why a follow-up question failed (the first answer stood)")
    batch_prompt_tokens: int = Field(0, description="of prompt_tokens, those sent in a provider batch job (discounted)")
    batch_completion_tokens: int = Field(0, description="of completion_tokens, those answered in a batch job")

    def plus(self, other: Usage) -> Usage:
        """This usage with another's requests, tokens, forms and cache hits added."""
        return self.model_copy(update={k: getattr(self, k) + getattr(other, k) for k in _ADDED})


class _Form(_Record):
    kind: FormKind
    year: int | None = Field(None, description="the year of (2023 年度)")
    project_name: str | None = Field(None, description="项目名称")
    supervising_dept: str | None = Field(None, description="主管部门")
    implementing_unit: str | None = Field(None, description="实施单位")
    amount_unit: Literal["元", "万元"] | None = Field(None, description="项目资金（元）or（万元）")
    # Provenance and back-end bookkeeping: extra to FORMAT.md, ignored by the scorer.
    source: Provenance[FormSource | None] = None
    field_spans: Provenance[dict[str, Span]] = Field(default_factory=dict)
    field_boxes: Provenance[dict[str, FieldBox]] = Field(default_factory=dict, description="for PDFs and scans: page and box")
    notes: Provenance[list[Note]] = Field(default_factory=list)
    backend: Provenance[str | None] = None
    confidence: Provenance[float | None] = Field(None, description="the form's confidence: its least sure field's")
    field_confidence: Provenance[dict[str, float]] = Field(default_factory=dict, description="by FORMAT.md path")
    confidence_reasons: Provenance[list[str]] = Field(default_factory=list, description="why a field is less than sure")
    extraction_confidence: Provenance[dict[str, float]] = Field(
        default_factory=dict, description="confidence in the reading alone, leaving out the form's own "
                                          "inconsistencies (which go to the auditor, not to review)")
    findings: Provenance[list[Finding]] = Field(default_factory=list)
    route: Provenance[Route | None] = None
    model: Provenance[str | None] = Field(None, description="the LLM that read the form, where one did")
    prompt_version: Provenance[str | None] = None
    shared_prompt_version: Provenance[str | None] = Field(
        None, description="the version of the prompts every request shares (system, part note, re-asks)")
    examples: Provenance[list[str]] = Field(default_factory=list, description="ids of the reviewed forms the prompt "
                                            "showed as examples (`<gold file>#<form>@<content hash>`)")
    usage: Provenance[Usage | None] = None
    confirmed_by_reviewer: Provenance[dict[str, object]] = Field(
        default_factory=dict, description="values a reviewer checked against the page and confirmed, by FORMAT.md "
                                          "path: a doubt the checks raise about them is answered while they stay so")
    error: Provenance[str | None] = Field(None, description="why the form could not be read; its fields are then null")
    alternatives: Provenance[dict[str, dict[str, object]]] = Field(
        default_factory=dict, description="hybrid: both back-ends' answers where they differ, by path")

    def failed_checks(self) -> list[Note]:
        """The notes of checks that did not run (`check.check_failed`): they vouch for nothing."""
        return [n for n in self.notes if n.code == CHECK_FAILED]


class SelfEvaluation(_Form):
    kind: Literal["self_evaluation"] = "self_evaluation"
    funds: SelfEvaluationFunds = Field(default_factory=SelfEvaluationFunds)
    goal_expected: str | None = Field(None, description="年度总体目标 · 预期目标")
    goal_actual: str | None = Field(None, description="年度总体目标 · 实际完成情况")
    indicators: list[SelfEvaluationIndicator] = Field(default_factory=list)
    total_weight: float | None = Field(None, description="总分 · 分值")
    total_score: float | None = Field(None, description="总分 · 得分")
    grade: str | None = Field(None, description="评分等级; null when absent or blank")


class TargetDeclaration(_Form):
    kind: Literal["target_declaration"] = "target_declaration"
    project_nature: str | None = Field(None, description="项目性质")
    project_category: str | None = Field(None, description="项目类别")
    planned_start: str | None = Field(None, description="计划开始日期, as YYYY-MM-DD (2026/1/1 → 2026-01-01)")
    planned_end: str | None = Field(None, description="计划完成日期, as YYYY-MM-DD")
    funds: DeclarationFunds = Field(default_factory=DeclarationFunds)
    goal_overall: str | None = Field(None, description="项目总目标")
    goal_annual: str | None = Field(None, description="年度总体目标")
    indicators: list[DeclarationIndicator] = Field(default_factory=list)


Form = Annotated[Union[SelfEvaluation, TargetDeclaration], Field(discriminator="kind")]


RECORD_MODELS = (SelfEvaluation, TargetDeclaration)
# The one map from a form's kind to its record model, for every reader that makes a record of a kind.
RECORD_BY_KIND = {model.model_fields["kind"].default: model for model in RECORD_MODELS}


def _own_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """A model's FORMAT.md fields, in its order: every field but jixiao's bookkeeping."""
    return tuple(name for name, info in model.model_fields.items() if _PROVENANCE not in info.metadata)


def _row_model(record: type[BaseModel]) -> type[BaseModel]:
    return record.model_fields["indicators"].annotation.__args__[0]


# Derived from the models, so a field added to one is walked, scored, reviewed and asked for.
PROVENANCE = frozenset(name for model in (*RECORD_MODELS, *map(_row_model, RECORD_MODELS))
                       for name, info in model.model_fields.items() if _PROVENANCE in info.metadata)
FORM_FIELDS = {kind: tuple(f for f in _own_fields(model) if f not in ("funds", "indicators"))
               for kind, model in RECORD_BY_KIND.items()}
ROW_BY_KIND = {kind: _row_model(model) for kind, model in RECORD_BY_KIND.items()}  # an indicator row's model
ROW_FIELDS = {kind: _own_fields(model) for kind, model in ROW_BY_KIND.items()}


def format_values(form: "SelfEvaluation | TargetDeclaration", rows: bool = True):
    """(path, value) for every FORMAT.md field of a form, read straight off the model:
    scalars, funds, and (with `rows`) each indicator row's cells. The one walk over a
    form's fields: scoring, confidence, grounding and review all take their paths from it."""
    for name in FORM_FIELDS[form.kind]:
        yield name, getattr(form, name)
    for key in type(form.funds).model_fields:
        value = getattr(form.funds, key)
        if isinstance(value, BaseModel):
            for col in type(value).model_fields:
                yield f"funds.{key}.{col}", getattr(value, col)
        else:
            yield f"funds.{key}", value
    if rows:
        for i, row in enumerate(form.indicators):
            for f in ROW_FIELDS[form.kind]:
                yield f"indicators[{i}].{f}", getattr(row, f)


def format_paths(form: "SelfEvaluation | TargetDeclaration") -> list[str]:
    """Every FORMAT.md field path of a form."""
    return [path for path, _ in format_values(form)]


_PATH_PART = re.compile(r"[^.\[\]]+|\[\d+\]")


@lru_cache(maxsize=8192)
def path_parts(path: str) -> tuple[str | int, ...]:
    """The one reader of FORMAT.md paths: `indicators[3].score` → ("indicators", 3, "score"),
    `funds.total.executed` → ("funds", "total", "executed"), `indicators[3]` → ("indicators", 3)."""
    return tuple(int(p[1:-1]) if p.startswith("[") else p for p in _PATH_PART.findall(path))


def field_label(path: str) -> str:
    """A FORMAT.md path's Chinese label (`funds.total.executed` → 全年执行数, `indicators[3].name`
    → 三级指标, `funds.project_total` → 项目资金总额); the path itself when it has none."""
    last = path.rsplit(".", 1)[-1]
    return FIELD_LABELS.get(last) or FUND_ROW_LABELS.get(last) or path


@lru_cache(maxsize=8192)  # as path_parts: a form's checks ask again and again; immutable answers
def row_index(path: str) -> int | None:
    """The indicator row a path is in: `indicators[3].score` and `indicators[3]` → 3; None for
    a path outside the rows."""
    parts = path_parts(path)
    return parts[1] if len(parts) >= 2 and parts[0] == "indicators" and isinstance(parts[1], int) else None


@lru_cache(maxsize=8192)
def row_cell(path: str) -> tuple[int, str] | None:
    """(row, field) of an indicator cell's path: `indicators[3].score` → (3, "score"); None for
    a whole row (`indicators[3]`) or a path outside the rows."""
    parts = path_parts(path)
    i = row_index(path)
    return (i, parts[2]) if i is not None and len(parts) == 3 and isinstance(parts[2], str) else None


def value_at(record: BaseModel | None, path: str):
    """The value at a FORMAT.md path of a form (None where the form has no such field or row)."""
    return _reader(path)(record)


@lru_cache(maxsize=8192)
def _reader(path: str) -> Callable[[object], object]:
    """A function reading `path` off a record, made once per path (value_at's walk, specialised:
    a field, a funds cell, a row's cell)."""
    parts = path_parts(path)
    if all(isinstance(part, str) for part in parts):
        read = attrgetter(".".join(parts))

        def attributes(record: object) -> object:
            try:
                return read(record)
            except AttributeError:  # no such field, or a None on the way
                return None
        return attributes
    if len(parts) == 3 and isinstance(parts[1], int) and isinstance(parts[2], str):
        rows_name, i, name = parts

        def cell(record: object) -> object:
            rows = getattr(record, rows_name, None) if record is not None else None
            row = rows[i] if rows is not None and i < len(rows) else None
            return getattr(row, name, None) if row is not None else None
        return cell

    def walk(record: object) -> object:
        node = record
        for part in parts:
            if node is None:
                return None
            if isinstance(part, int):
                node = node[part] if part < len(node) else None
            else:
                node = getattr(node, part, None)
        return node
    return walk


def set_at(record: BaseModel, path: str, value) -> None:
    """`value` written at a FORMAT.md path of a form (the row or fund row must exist)."""
    *parents, name = path_parts(path)
    node = record
    for part in parents:
        node = node[part] if isinstance(part, int) else getattr(node, part)
    setattr(node, name, value)


class _Answer(BaseModel):
    """Base of the models an LLM answers. Their JSON schema is sent with every request, so it
    is generated once per model and copied after (generating it is most of a request's CPU);
    its hash, part of the answer cache's key, is made once with it. The one schema cache."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def model_json_schema(cls, *args, **kwargs) -> dict:
        return copy.deepcopy(cls._schema_and_hash(*args, **kwargs)[0])

    @classmethod
    def schema_hash(cls) -> str:
        """16 hex digits of the SHA-256 of the schema sent (its JSON, keys sorted)."""
        return cls._schema_and_hash()[1]

    @classmethod
    def _schema_and_hash(cls, *args, **kwargs) -> tuple[dict, str]:
        # instructor wraps the model in a fresh subclass per request: key on our own model.
        own = next((c for c in cls.__mro__ if c in _ANSWERS.values()), cls)
        key = (own, cls.__name__, args, tuple(sorted(kwargs.items())))
        if key not in _SCHEMAS:
            schema = super().model_json_schema(*args, **kwargs)
            text = json.dumps(schema, ensure_ascii=False, sort_keys=True)
            _SCHEMAS[key] = schema, hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
        return _SCHEMAS[key]


_SCHEMAS: dict[tuple, tuple[dict, str]] = {}


def answer_model(record: type[BaseModel]) -> type[BaseModel]:
    """The model an LLM answers for a record type: its FORMAT.md fields only, the same names,
    nested rows likewise (provenance is jixiao's to add, not the model's to invent)."""
    if record in _ANSWERS:
        return _ANSWERS[record]
    fields = {}
    for name, info in record.model_fields.items():
        if name in PROVENANCE:
            continue
        annotation = info.annotation
        if name == "indicators":
            annotation = list[answer_model(annotation.__args__[0])]
        if name == "indicators":
            field = Field(default_factory=list, description="every indicator row, in table order")
        elif info.default_factory is not None:
            field = Field(default_factory=info.default_factory, description=info.description)
        else:
            field = Field(info.default, description=info.description)
        fields[name] = (annotation, field)
    validators = {}
    if "planned_start" in fields:  # a shape, not arithmetic: 2026/1/1 → 2026-01-01 (FORMAT.md)
        validators["iso_dates"] = field_validator("planned_start", "planned_end")(_iso)
    model = create_model(f"{record.__name__}Answer", __base__=_Answer, __doc__=record.__doc__,
                         __validators__=validators, **fields)
    _ANSWERS[record] = model
    return model


_ANSWERS: dict[type, type[BaseModel]] = {}


def _iso(cls, value: str | None) -> str | None:
    return iso_date(value)


class DocumentRecord(BaseModel):
    """One line of `jixiao extract` output and the shape of a gold file."""

    document: str
    forms: list[Form] = Field(default_factory=list)


class GridCell(BaseModel):
    """One position of a table's grid. A merged cell's text stands at its top-left position
    (`rowspan`, `colspan` > 1 there); every other position it covers is empty and names that
    top-left in `merged_into`, so a reader knows a vertically merged 一级 label covers a row
    without the label being repeated or re-guessed from text."""

    text: str = Field("", description="the cell's text as displayed; a line break inside the cell kept as \\n")
    span: Span | None = Field(None, description="where the text stands in SourceDoc.text (None: empty or covered)")
    rowspan: int = Field(1, ge=1)
    colspan: int = Field(1, ge=1)
    merged_into: tuple[int, int] | None = Field(None, description="for a covered position: (row, col) of its merge's top-left")


class Table(BaseModel):
    """A table as its source laid it out: rows of cells, every row as long as the widest
    (short rows padded with empty cells). A reader that sees cells (DOCX, XLSX, HTML, JSON
    cells) hands these to the back-end with the text it renders them to."""

    rows: list[list[GridCell]]
    span: Span = Field(description="where the table's rendering stands in SourceDoc.text")
    source: str = Field("", description="where in the file: 'table 2', 'sheet 预算 rows 1–40', 'page 3'")

    def origin(self, row: int, col: int) -> GridCell:
        """The cell that shows at (row, col): the merge's top-left for a covered position."""
        cell = self.rows[row][col]
        return self.rows[cell.merged_into[0]][cell.merged_into[1]] if cell.merged_into else cell


class SourceDoc(BaseModel):
    """A decoded document. `text` has furniture blanked out, so offsets match `raw_text`."""

    name: str
    path: str | None = None
    encoding: str
    raw_text: str = Field(description="decoded text, line ends normalised to \\n")
    text: str = Field(description="raw_text with page furniture replaced by spaces")
    furniture: list[Span] = Field(default_factory=list)
    boxes: list[TextBox] = Field(default_factory=list, description="for PDFs and scans: where the text was printed")
    notes: list[Note] = Field(default_factory=list, description="what reading the file noticed: a blank page")
    tables: list[Table] = Field(default_factory=list, description="for files that hold cells: their tables, in text order")


class Chunk(BaseModel):
    """One form's text within a document."""

    document: str
    index: int
    kind: FormKind
    span: Span
    text: str = Field(description="the document's cleaned text within span")
    boxes: list[TextBox] = Field(default_factory=list, description="for PDFs and scans: where its text was printed")
    tables: list[Table] = Field(default_factory=list, description="the document's tables (or their rows) within span")
    notes: list[Note] = Field(default_factory=list, description="what segmenting noticed: a form found without its title")


_ADDED = ("requests", "prompt_tokens", "completion_tokens", "batch_prompt_tokens", "batch_completion_tokens", "forms",
          "cache_hits")


class Tally(BaseModel):
    """What a record written out as a line counts for the run's summary: its forms, those
    sent to review, the failed forms' errors, the checks that failed on its forms (each form
    kept, to review) and what the LLM cost (summed over its forms)."""

    forms: int = 0
    needs_review: int = 0
    form_errors: list[str] = Field(default_factory=list)
    check_errors: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)

    @classmethod
    def of(cls, record: DocumentRecord) -> Tally:
        return cls(forms=len(record.forms),
                   needs_review=sum(f.route is not None and f.route.decision == "needs_review" for f in record.forms),
                   form_errors=[f.error for f in record.forms if f.error],
                   check_errors=[f"{record.document} {f.project_name or f'#{i + 1}'}: {n.message}"
                                 for i, f in enumerate(record.forms) for n in f.failed_checks()],
                   usage=spent(record))

    def add(self, other: Tally) -> None:
        self.forms += other.forms
        self.needs_review += other.needs_review
        self.form_errors += other.form_errors
        self.check_errors += other.check_errors
        self.usage = self.usage.plus(other.usage)


def spent(record: DocumentRecord) -> Usage:
    """What the LLM cost for a record's forms, summed (each form asked counts one form)."""
    total = Usage()
    for u in (f.usage for f in record.forms if f.usage is not None):
        total = total.plus(u.model_copy(update={"forms": 1, "cache_hits": int(u.cached)}))
    return Usage(**{k: getattr(total, k) for k in _ADDED})


class DocumentResult(BaseModel):
    """The outcome of one input file: its record, or the error that stopped it. Written out
    (`jixiao extract`), the record travels as its JSON `line` and `tally` instead: made where
    the file was read (a worker process), so the writer only writes bytes."""

    path: str
    record: DocumentRecord | None = None
    error: str | None = None
    traceback: str | None = Field(None, description="the underlying cause, shown with --debug")
    text: str | None = Field(None, description="the document's cleaned text (kept by batch runs for review)")
    line: bytes | None = Field(None, description="the record as one line of JSON (UTF-8, no newline)")
    tally: Tally | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class BatchSummary(BaseModel):
    """What a batch run did, document by document and form by form."""

    documents: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    duplicates: int = 0
    forms: int = 0
    accepted: int = 0
    needs_review: int = 0
    failed_forms: int = 0
    failed_checks: int = Field(0, description="forms kept, and sent to review, on which a check failed")
    usage: Usage = Field(default_factory=Usage, description="what the LLM cost for the forms read, summed")
    messages: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.failed_forms and not self.failed_checks


# --- evaluation ---------------------------------------------------------------------------

class Miss(BaseModel):
    """A gold field the prediction got wrong."""

    document: str
    form: str
    field: str
    gold: object = None
    predicted: object = None


class FieldResult(BaseModel):
    field: str = Field(description="the field's key across forms, e.g. funds.total.executed, indicators.name")
    path: str = Field(description="the field's path in this form, e.g. indicators[3].name")
    gold: object = None
    predicted: object = None
    right: bool
    confidence: float | None = None


class FormResult(BaseModel):
    """One gold form (or one unpaired predicted form) scored."""

    document: str
    form: str
    gold_index: int | None
    predicted_index: int | None
    fields: list[FieldResult] = Field(default_factory=list)
    rows_expected: int = 0
    rows_found: int = 0
    rows_right: int = 0
    rows_predicted: int = 0
    confidence: float | None = None


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

    @classmethod
    def from_forms(cls, forms: list[FormResult]) -> "Comparison":
        fields = [f for form in forms for f in form.fields]
        return cls(fields=len(fields), right=sum(f.right for f in fields),
                   rows_expected=sum(f.rows_expected for f in forms), rows_found=sum(f.rows_found for f in forms),
                   misses=[Miss(document=form.document, form=form.form, field=f.path, gold=f.gold,
                                predicted=f.predicted) for form in forms for f in form.fields if not f.right])

    def add(self, other: "Comparison") -> "Comparison":
        return Comparison(fields=self.fields + other.fields, right=self.right + other.right,
                          rows_expected=self.rows_expected + other.rows_expected,
                          rows_found=self.rows_found + other.rows_found, misses=self.misses + other.misses)


class FieldScore(BaseModel):
    right: int = 0
    total: int = 0

    @computed_field
    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else 1.0


class TradeOff(BaseModel):
    """Review the lowest-confidence `review_fraction` of forms; the rest are accepted."""

    review_fraction: float
    reviewed: int
    accepted: int
    accepted_accuracy: float


class ConfidenceReport(BaseModel):
    forms: int
    fields: int
    form_auroc: float | None = Field(None, description="AUROC of form confidence against a form having any miss")
    form_ece: float | None = None
    field_auroc: float | None = None
    field_ece: float | None = None
    tradeoff: list[TradeOff] = Field(default_factory=list)


class EvalReport(BaseModel):
    """Every metric of one evaluation."""

    overall: float
    fields_total: int
    fields_right: int
    form_precision: float
    form_recall: float
    row_precision: float
    row_recall: float
    row_f1: float
    per_field: dict[str, FieldScore]
    row_completeness: list[dict]
    per_document: dict[str, Comparison]
    misses: list[Miss]
    confidence: ConfidenceReport | None = None
    run: dict = Field(default_factory=dict, description="back-end, model, prompt version of the run scored")
