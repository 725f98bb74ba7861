"""Exports of a batch store: JSON lines of records, and flat tables for analysts (forms,
funds, indicators, findings) as CSV (UTF-8 with BOM, so Excel reads the Chinese) or as one
XLSX workbook with a sheet per table and Chinese column headers."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError
from .schema import FIELD_LABELS, FUND_LABELS, FUND_ROW_LABELS, DocumentRecord
from .store import Store

# Columns an export adds to the record's fields (FIELD_LABELS names those).
COLUMN_LABELS = {"document": "文档", "form_index": "表序号", "confidence": "置信度", "route": "分流", "backend": "后端",
                 "error": "错误", "row": "资金行", "amount": "金额", "code": "规则", "severity": "严重程度", "triage": "分诊",
                 "fields": "涉及字段", "message": "说明"}


def _columns(*keys: str, row: str | None = None) -> list[tuple[str, str]]:
    labels = {**FIELD_LABELS, **COLUMN_LABELS, **({"row": row} if row else {})}
    return [(key, labels[key]) for key in keys]


FORMS = _columns("document", "form_index", "kind", "year", "project_name", "supervising_dept", "implementing_unit",
                 "amount_unit", "project_nature", "project_category", "planned_start", "planned_end", "total_weight",
                 "total_score", "grade", "confidence", "route", "backend", "error")
FUNDS = _columns("document", "form_index", "project_name", "row", "initial_budget", "annual_budget", "executed", "weight",
                 "execution_rate", "score", "amount")
INDICATORS = _columns("document", "form_index", "project_name", "row", "level1", "level2", "name", "target", "actual",
                      "weight", "score", "deviation", row="行号")
FINDINGS = _columns("document", "form_index", "project_name", "code", "severity", "triage", "fields", "message")
# funds.csv's row names are values a user selects rows by. A declaration's annual rows keep the
# names of the self-evaluation rows they match (当年财政拨款, 上年结转资金, 其他资金); only its
# project-level 其他资金 is marked, which tells the two apart within one form (the review page
# marks both: FUND_ROW_LABELS).
ROW_NAMES = {**FUND_ROW_LABELS, "annual_other": FUND_LABELS["annual_other"]}
TABLES = {"forms": FORMS, "funds": FUNDS, "indicators": INDICATORS, "findings": FINDINGS}
# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection);
# spreadsheets in CJK locales may normalise the full-width ＝ ＋ － ＠ to them first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9][0-9,]*(?:\.[0-9]+)?|\.[0-9]+)%?")


def rows(record: DocumentRecord, table: str) -> Iterator[dict]:
    """The flat rows one document gives a table."""
    for form in record.forms:
        base = {"document": record.document, "form_index": form.source.form_index if form.source else None,
                "project_name": form.project_name}
        if table == "forms":
            yield {**base, **{k: getattr(form, k, None) for k, _ in FORMS if k not in base},
                   "route": form.route.decision if form.route else None}
        elif table == "funds":
            for key, value in form.funds:
                if hasattr(value, "model_dump"):
                    yield {**base, "row": ROW_NAMES.get(key, key), **value.model_dump()}
                else:
                    yield {**base, "row": ROW_NAMES.get(key, key), "amount": value}
        elif table == "indicators":
            for i, row in enumerate(form.indicators, 1):
                yield {**base, "row": i, **row.model_dump(exclude={"span"})}
        elif table == "findings":
            for f in form.findings:
                yield {**base, "code": f.code, "severity": f.severity, "triage": f.triage,
                       "fields": ", ".join(f.fields), "message": f.message}


def export(folder: str | Path, fmt: str, out: str | Path | None = None) -> list[Path]:
    """Write the store's records in `fmt` (jsonl, csv, xlsx); the files written."""
    if fmt not in ("jsonl", "csv", "xlsx"):
        raise ConfigError(f"未知的导出格式 '{fmt}' / unknown export format '{fmt}': jsonl, csv or xlsx")
    store = Store.existing(folder)
    out = Path(out) if out else Path(folder) / "export"
    try:
        if fmt == "jsonl":
            path = out.with_suffix(".jsonl") if out.suffix != ".jsonl" else out
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", encoding="utf-8") as f:
                for record in store.records():
                    f.write(json.dumps(record.model_dump(mode="json"), ensure_ascii=False) + "\n")
            return [path]
        if fmt == "csv":
            return _csv(store, out)
        return [_xlsx(store, out.with_suffix(".xlsx") if out.suffix != ".xlsx" else out)]
    finally:
        store.close()


def _table(store: Store, table: str) -> Iterator[list]:
    """A table's header row (Chinese) and then its rows, document by document."""
    columns = TABLES[table]
    yield [zh for _, zh in columns]
    for record in store.records():
        for row in rows(record, table):
            yield [_cell(row.get(k)) for k, _ in columns]


def _csv(store: Store, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in TABLES:
        path = folder / f"{table}.csv"
        # utf-8-sig: the BOM makes Excel read the file as UTF-8, so the Chinese shows.
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows([_csv_cell(v) for v in row] for row in _table(store, table))
        paths.append(path)
    return paths


def _xlsx(store: Store, path: Path) -> Path:
    from openpyxl import Workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    book = Workbook(write_only=True)
    for table in TABLES:
        sheet = book.create_sheet(table)
        for row in _table(store, table):
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    book.save(path)
    return path


def _cell(value):
    return "" if value is None else value


def _csv_cell(value):
    """A CSV cell no spreadsheet runs as a formula (OWASP's CSV-injection rule): a string that
    starts with = + - @ (or their full-width ＝ ＋ － ＠), tab or CR gets a leading ', and so does one that starts with ' (so
    removing one leading ' undoes it exactly). A number stays a number, and a string that is
    a plain number as printed ("-5", "+3.5%") stays as it is: it cannot be a formula."""
    if isinstance(value, str) and value.startswith((*FORMULA_START, "'")) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def _xlsx_cell(sheet, value):
    """A string stays text: openpyxl would write "=28人" as a formula and "#N/A" as an error.
    The cell is typed text explicitly, and marked quote-prefixed so it stays text when edited.
    A control character, which XLSX cannot hold, is shown as U+FFFD (the CSV keeps it)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if not isinstance(value, str) or not (value.startswith(FORMULA_START) or value in ERROR_CODES):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell
