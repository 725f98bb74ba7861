"""Eval runs: extract the fixtures with a back-end, score them, keep the run; compare runs."""

from __future__ import annotations

import json
import zlib
from datetime import datetime, timezone
from pathlib import Path

import jsonlines
from pydantic import BaseModel, ValidationError

from . import __version__
from .backends import Backend, get_backend
from .errors import InputError
from .evaluate import evaluate
from .noise import noisy
from .pipeline import extract_paths
from .report import render_html
from .schema import DocumentRecord, EvalReport


class FieldDelta(BaseModel):
    field: str
    before: float
    after: float
    delta: float


def load_gold(folder: str | Path) -> list[DocumentRecord]:
    """Every gold file (`<stem>.json`) in a folder."""
    folder = Path(folder)
    files = sorted(folder.glob("*.json"))
    if not files:
        raise InputError(f"{folder}: 没有标准答案文件 / no gold files (*.json) in this folder")
    return [_record(path, json.loads(path.read_text(encoding="utf-8"))) for path in files]


def load_predictions(path: str | Path) -> list[DocumentRecord]:
    """The documents of a JSON-lines file written by `jixiao extract`."""
    path = Path(path)
    try:
        with jsonlines.open(path) as reader:
            return [_record(f"{path} line {i + 1}", obj) for i, obj in enumerate(reader)]
    except FileNotFoundError:
        raise InputError(f"{path}: 文件不存在 / file not found") from None
    except jsonlines.InvalidLineError as exc:
        raise InputError(f"{path} line {exc.lineno}: 不是有效的 JSON / not valid JSON") from None


def _record(where, obj) -> DocumentRecord:
    try:
        return DocumentRecord.model_validate(obj)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{where}: 不符合记录格式 / not in the record format at {loc}: {first['msg']}") from None


def run_info(backend: Backend) -> dict:
    return {"backend": backend.name, "model": backend.model, "prompt_version": backend.prompt_version,
            "jixiao": __version__}


def eval_run(fixtures: str | Path = "fixtures", backend: Backend | str = "rules",
             runs_dir: str | Path = "evals/runs", noise: int = 0) -> tuple[Path, EvalReport]:
    """Extract `fixtures/raw` with the back-end, score against `fixtures/gold`, and keep the
    predictions, the report (JSON and HTML) and the run's settings in a new run folder.
    `noise` adds that many noisy variants of each document, scored against its gold."""
    backend = get_backend(backend) if isinstance(backend, str) else backend
    fixtures = Path(fixtures)
    gold = load_gold(fixtures / "gold")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    out = Path(runs_dir) / f"{stamp}-{backend.name}"
    out.mkdir(parents=True, exist_ok=False)
    inputs = [fixtures / "raw"]
    if noise:
        inputs.append(_noisy_inputs(fixtures / "raw", out / "noisy", noise))
        gold = gold + [g.model_copy(update={"document": p.name}) for g in gold
                       for p in sorted((out / "noisy").glob(f"{Path(g.document).stem}~noise*"))]
    predictions = []
    with jsonlines.open(out / "predictions.jsonl", "w", dumps=lambda o: json.dumps(o, ensure_ascii=False)) as w:
        for result in extract_paths(inputs, backend):
            if result.record:
                predictions.append(result.record)
                w.write(result.record.model_dump(mode="json"))
    report = evaluate(gold, predictions)
    report.run = {**run_info(backend), "fixtures": str(fixtures), "noisy_variants": noise, "started": stamp}
    (out / "report.json").write_text(report.model_dump_json(indent=1), encoding="utf-8")
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    return out, report


def _noisy_inputs(raw: Path, folder: Path, count: int) -> Path:
    folder.mkdir()
    for path in sorted(raw.iterdir()):
        text = path.read_text(encoding="utf-8")
        for k in range(1, count + 1):
            variant = folder / f"{path.stem}~noise{k}{path.suffix}"
            variant.write_text(noisy(text, seed=zlib.crc32(variant.name.encode())), encoding="utf-8")
    return folder


def load_report(run: str | Path) -> EvalReport:
    path = Path(run)
    path = path / "report.json" if path.is_dir() else path
    try:
        return EvalReport.model_validate_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: 没有运行报告 / no report.json: is this an eval run folder?") from None


def compare_runs(before: EvalReport, after: EvalReport) -> list[FieldDelta]:
    """Per-field accuracy deltas, regressions first (largest drop first)."""
    fields = sorted(set(before.per_field) | set(after.per_field))
    deltas = []
    for field in fields:
        a = before.per_field[field].accuracy if field in before.per_field else 0.0
        b = after.per_field[field].accuracy if field in after.per_field else 0.0
        deltas.append(FieldDelta(field=field, before=a, after=b, delta=b - a))
    return sorted(deltas, key=lambda d: (d.delta, d.field))
