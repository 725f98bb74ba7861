"""The `jixiao` command: a thin typer layer over the library API.

Data goes to stdout (or -o), progress and messages to stderr. Exit 0 all good, 1 some
inputs failed, or a check failed on a form (the rest written), 2 usage error."""

from __future__ import annotations

import json
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup
from rich.console import Console
from rich.table import Table
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__
from .backends import REGISTRY, Backend, default_backend, get_backend
from .config import LLMSettings, load_settings
from .cost import usage_line
from .errors import BadExamples, ConfigError, InputError, JixiaoError
from .ingest import MAX_FILE_MB, ingest, iter_paths
from .route import DEFAULT_THRESHOLD
from .pipeline import extract_paths
from .workers import default_workers, fewer_collections
from .redact import install_redaction
# The store, the evaluation and its reports (jinja2, jsonlines) are imported by the commands that
# use them: `jixiao extract` starts without them (a fifth of its start-up's CPU time).
from .schema import BatchSummary, DocumentResult, EvalReport, Tally
from .segment import segment
from .validate import validate
from .validate.triage import triage

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="jixiao (绩效): 财政项目绩效表 → 结构化记录 / fiscal performance forms → records.")
err = Console(stderr=True, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"jixiao {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """jixiao (绩效): structured, validated records from fiscal performance forms."""
    install_redaction()  # keys out of every log line; the key itself is added when settings load


ModeOption = Annotated[Optional[str], typer.Option(
    help="Instructor mode: auto (probe once, remember), tools, json_schema, json, md_json.")]
ExamplesOption = Annotated[Optional[Path], typer.Option(
    help="Folder of gold files from `jixiao review export-gold`: forms a reviewer approved, shown to the LLM as "
         "examples (the most alike of the same kind).")]
ExamplesKOption = Annotated[Optional[int], typer.Option(min=1, help="At most this many examples in a prompt (default 3).")]
ExamplesTokensOption = Annotated[Optional[int], typer.Option(
    min=1, help="At most this many estimated tokens of examples in a prompt (default 8000).")]
MaxCostOption = Annotated[Optional[float], typer.Option(
    help="Stop new LLM requests once their estimated cost reaches this (in the price table's currency; see [prices]).")]
WorkersOption = Annotated[Optional[int], typer.Option(
    min=1, help="Worker processes reading documents (default: the CPU count). An LLM back-end's --concurrency, "
                "--rpm, --tpm and --max-tokens-total are shared out among them.")]
ENGINES = ("local", "ray")


@app.command()
def extract(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders to read: .txt/.md, .pdf, scans (.png/.jpg/.tif), .docx, .xlsx/.xls, .html, .json table cells.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write JSON lines here, not stdout.")] = None,
    backend: Annotated[Optional[str], typer.Option(
        help=f"Back-end: {', '.join(sorted(REGISTRY))}. Default: hybrid when an endpoint is configured, else rules.")] = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0,
                                             help="Forms with a field below this confidence need review.")] = DEFAULT_THRESHOLD,
    model: Annotated[Optional[str], typer.Option(help="LLM model name (or JIXIAO_MODEL).")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint (or OPENAI_BASE_URL).")] = None,
    mode: ModeOption = None,
    timeout: Annotated[Optional[float], typer.Option(help="Seconds per LLM request.")] = None,
    concurrency: Annotated[Optional[int], typer.Option(min=1, help="LLM requests in flight at once (forms are prepared and checked around them).")] = None,
    rpm: Annotated[Optional[float], typer.Option(help="At most this many LLM requests per minute.")] = None,
    tpm: Annotated[Optional[float], typer.Option(help="At most this many LLM tokens per minute.")] = None,
    max_tokens_total: Annotated[Optional[int], typer.Option(help="Stop new LLM requests once this many tokens are used.")] = None,
    max_cost: MaxCostOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the LLM answer cache.")] = False,
    examples: ExamplesOption = None,
    examples_k: ExamplesKOption = None,
    examples_tokens: ExamplesTokensOption = None,
    max_file_mb: Annotated[float, typer.Option(
        min=0.0, help="Larger text files are refused, not read (PDFs and images: ten times this).")] = MAX_FILE_MB,
    workers: WorkersOption = None,
    debug: Annotated[bool, typer.Option(help="Show tracebacks for unexpected errors.")] = False,
) -> None:
    """提取 / Extract: one JSON line per document, {"document": ..., "forms": [...]}, each form
    validated (findings), scored (confidence) and routed (accepted / needs_review)."""
    settings, chosen = _chosen_backend(backend, no_cache, model=model, base_url=base_url, mode=mode, timeout=timeout,
                                       concurrency=concurrency, requests_per_minute=rpm, tokens_per_minute=tpm,
                                       max_tokens_total=max_tokens_total, max_cost=max_cost, examples=examples,
                                       examples_k=examples_k, examples_tokens=examples_tokens)
    paths = iter_paths(inputs)
    if not paths:
        err.print("error: 没有可读取的文件 / no input files found (.txt, .md, .pdf, .docx, .xlsx, .xls, .html, .json)", highlight=False)
        raise typer.Exit(2)
    failed, tally = 0, Tally()
    try:
        sink = output.open("wb") if output else nullcontext(sys.stdout.buffer)
    except OSError as exc:
        _fail(InputError(f"{output}: 无法写入输出文件 / cannot write the output file ({exc.strerror})"), 2)
    # Workers start before the progress bar, so no other thread runs while they are forked.
    results = extract_paths(paths, chosen, threshold=threshold, concurrency=settings.concurrency,
                            max_file_mb=max_file_mb, workers=workers or default_workers(), lines=True)
    with fewer_collections(), sink as stream, _progress(len(paths)) as bar:
        task = bar.add_task("extract", total=len(paths)) if bar else None
        for result in results:
            if result.ok:
                stream.write(result.line + b"\n")
                stream.flush()  # a line written is kept, whatever happens to the run after it
                tally.add(result.tally)
                for error in result.tally.form_errors:
                    err.print("form failed 表提取失败:", style="red", end=" ")
                    err.print(error, markup=False, highlight=False)
                for error in result.tally.check_errors:
                    err.print("check failed 检查出错 (form kept, to review 表已保留，待复核):", style="red", end=" ")
                    err.print(error, markup=False, highlight=False)
            else:
                failed += 1
                _report(result, debug)
            if bar:
                _advance(bar, task)
    failed_forms = len(tally.form_errors)
    err.print(f"documents {len(paths)} · forms {tally.forms} · needs review {tally.needs_review} · failed documents "
              f"{failed} · failed forms {failed_forms}  (文档 {len(paths)} · 表 {tally.forms} · 待复核 {tally.needs_review}"
              f" · 失败文档 {failed} · 失败表 {failed_forms})", highlight=False)
    _print_usage(chosen, tally.usage)
    raise typer.Exit(1 if failed or failed_forms or tally.check_errors else 0)


def _print_usage(backend, used) -> None:
    """What the forms cost (summed over workers) and its estimate, when the back-end is an LLM's."""
    if backend.totals is not None:
        err.print(usage_line(used, backend.price), markup=False, highlight=False)


@app.command("run")
def run_command(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders to read: .txt/.md, .pdf, scans (.png/.jpg/.tif), .docx, .xlsx/.xls, .html, .json table cells.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: the store (jixiao.sqlite) lives here.")],
    backend: Annotated[Optional[str], typer.Option(
        help=f"Back-end: {', '.join(sorted(REGISTRY))}. Default: hybrid when an endpoint is configured, else rules.")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Read again the documents that failed before.")] = False,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Review threshold.")] = DEFAULT_THRESHOLD,
    model: Annotated[Optional[str], typer.Option(help="LLM model name (or JIXIAO_MODEL).")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="OpenAI-compatible endpoint (or OPENAI_BASE_URL).")] = None,
    mode: ModeOption = None,
    concurrency: Annotated[Optional[int], typer.Option(min=1, help="LLM requests in flight at once (forms are prepared and checked around them).")] = None,
    max_cost: MaxCostOption = None,
    batch_api: Annotated[bool, typer.Option("--batch-api", help=(
        "Send the forms to the provider as batch jobs (OpenAI Batch API format: about half price, answers within "
        "24h); a killed run polls the job it submitted, never submitting twice. Needs --backend llm."))] = False,
    batch_followup: Annotated[str, typer.Option(
        "--batch-followup", help="Follow-up questions (answers that break the schema or the checks): 'batch' (a "
                                 "second batch job) or 'live'.")] = "batch",
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not read or write the LLM answer cache.")] = False,
    examples: ExamplesOption = None,
    examples_k: ExamplesKOption = None,
    examples_tokens: ExamplesTokensOption = None,
    max_file_mb: Annotated[float, typer.Option(
        help="Larger text files are refused, not read (PDFs and images: ten times this).")] = MAX_FILE_MB,
    workers: WorkersOption = None,
    engine: Annotated[str, typer.Option(
        help="local: worker processes on this machine; ray: Ray workers (pip install 'jixiao[ray]').")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(
        help="With --engine ray: the cluster to join (`ray start --head` prints it); none: a local Ray instance.")] = None,
) -> None:
    """批量运行 / Batch: extract into a resumable store under --out. A re-run skips finished
    documents; a kill at any moment loses nothing finished. Exit 1 when any document failed."""
    settings, chosen = _chosen_backend(backend, no_cache, model=model, base_url=base_url, mode=mode,
                                       concurrency=concurrency, examples=examples, examples_k=examples_k,
                                       examples_tokens=examples_tokens, max_cost=max_cost)
    if batch_followup not in ("batch", "live"):
        _fail(InputError(f"--batch-followup {batch_followup}: 应为 batch 或 live / must be batch or live"), 2)
    if engine not in ENGINES:
        _fail(ConfigError(f"--engine {engine}: 应为 {' 或 '.join(ENGINES)} / must be {' or '.join(ENGINES)}"), 2)
    if engine == "ray":
        from .ray_engine import require_ray

        try:
            require_ray(local=ray_address is None)
        except JixiaoError as exc:
            _fail(exc, 2)
    total = len(iter_paths(inputs))
    if not total:
        _fail(InputError("没有可读取的文件 / no input files found (.txt, .md, .pdf, .docx, .xlsx, .xls, .html, .json)"), 2)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=total <= 1, auto_refresh=False) as bar:
        task = bar.add_task("run", total=total)

        def show(s: BatchSummary) -> None:
            bar.update(task, completed=s.done + s.failed + s.skipped + s.duplicates,
                       description=f"accepted {s.accepted} · review {s.needs_review} · failed {s.failed}")
            _refresh(bar)
        jobs: dict[str, object] = {}

        def show_job(job: str, status: str, done: int, total: int) -> None:
            if job not in jobs:
                err.print(f"批量任务 batch job {job}: 轮询中 polling…", markup=False, highlight=False)
                jobs[job] = bar.add_task("", total=total or None)
            bar.update(jobs[job], completed=done, total=total or None, description=f"batch job {job}: {status}")
            _refresh(bar)
        from .batch import run_batch

        try:
            with fewer_collections():
                summary = run_batch(inputs, out, chosen, threshold, retry_failed, settings.concurrency, max_file_mb,
                                    show, workers=workers or default_workers(), engine=engine, address=ray_address,
                                    batch_api=batch_api, batch_followup=batch_followup, batch_progress=show_job)
        except JixiaoError as exc:
            err.print("error 错误:", style="red", end=" ")
            err.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(2) from None
    for message in summary.messages:
        err.print(message, markup=False, highlight=False)
    table = Table(title=f"jixiao run → {out}")
    for column in ("documents 文档", "done 完成", "skipped 跳过", "duplicates 重复", "failed 失败", "forms 表",
                   "accepted 通过", "needs review 待复核", "failed forms 失败表"):
        table.add_column(column)
    table.add_row(*map(str, (summary.documents, summary.done, summary.skipped, summary.duplicates, summary.failed,
                             summary.forms, summary.accepted, summary.needs_review, summary.failed_forms)))
    err.print(table)
    _print_usage(chosen, summary.usage)
    raise typer.Exit(0 if summary.ok else 1)


@app.command("export")
def export_command(
    folder: Annotated[Path, typer.Argument(help="The --out folder of `jixiao run`.")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl, csv (one file per table) or xlsx (one workbook).")] = "xlsx",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Where to write (default FOLDER/export).")] = None,
) -> None:
    """导出 / Export a run: records as JSON lines, or forms, funds, indicators and findings tables."""
    from .export import export

    try:
        written = export(folder, fmt, output)
    except JixiaoError as exc:  # no store there, or an unknown format: the command was misused
        _fail(exc, 2)
    for path in written:
        typer.echo(str(path))


@app.command()
def doctor(
    model: Annotated[Optional[str], typer.Option(help="Model to check (or JIXIAO_MODEL).")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="Endpoint to check (or OPENAI_BASE_URL).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per check.")] = 15.0,
) -> None:
    """检查接口 / Check an OpenAI-compatible endpoint: reachable, key accepted, model listed,
    which instructor modes return a valid small record."""
    from .doctor import check_endpoint, essentials_pass  # imports the openai client: only when asked

    try:
        settings = load_settings(model=model, base_url=base_url, timeout=timeout, mode="tools")
        report = check_endpoint(settings)
    except JixiaoError as exc:
        _fail(exc)
    table = Table(title=f"{settings.base_url or 'https://api.openai.com/v1'} · {settings.model}")
    table.add_column("check 检查")
    table.add_column("result 结果")
    for name, ok, detail in report:
        table.add_row(name, f"[green]ok[/green] {detail}" if ok else f"[red]no[/red] {detail}")
    Console().print(table)
    raise typer.Exit(0 if essentials_pass(report) else 1)


def _progress(total: int):
    if total <= 1:
        return nullcontext(None)
    # Refreshed by hand (_refresh), not by rich's refresh thread: worker processes are forked
    # while no other thread runs.
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=True, auto_refresh=False)


def _advance(bar: Progress, task) -> None:
    bar.advance(task)
    _refresh(bar)


_shown = [0.0]


def _refresh(bar: Progress) -> None:
    """Redraw the bar, ten times a second at most (a redraw per document would cost more than reading it)."""
    now = time.monotonic()
    if now - _shown[0] >= 0.1:
        _shown[0] = now
        bar.refresh()


def _report(result: DocumentResult, debug: bool) -> None:
    err.print("failed 失败:", style="red", end=" ")
    err.print(result.error, markup=False, highlight=False)
    if debug and result.traceback:
        err.print(result.traceback, markup=False, highlight=False)


@app.command("validate")
def validate_command(
    records: Annotated[Path, typer.Argument(help="JSON lines of records (jixiao extract output, gold, hand-edited).")],
    source: Annotated[Optional[Path], typer.Option(help="Folder of the source documents, to triage findings.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print findings as JSON lines, one per form.")] = False,
) -> None:
    """校验 / Validate records: arithmetic and consistency findings. Findings are data: the
    exit status is 0 whenever the file could be read."""
    try:
        from .eval_runs import load_predictions

        documents = load_predictions(records)
    except JixiaoError as exc:
        _fail(exc)
    totals = {"error": 0, "warning": 0, "info": 0}
    for doc in documents:
        text, chunks = _source_text(source, doc.document)
        for i, form in enumerate(doc.forms):
            chunk = chunks[i].text if len(chunks) == len(doc.forms) else None
            findings = triage(form, validate(form, text), text, chunk)
            for f in findings:
                totals[f.severity] += 1
            if as_json:
                typer.echo(json.dumps({"document": doc.document, "form_index": i, "project_name": form.project_name,
                                       "findings": [f.model_dump(mode="json") for f in findings]}, ensure_ascii=False))
                continue
            for f in findings:
                tag = f" [{f.triage}]" if f.triage else ""
                typer.echo(f"{doc.document} · {form.project_name} · {f.severity} {f.code}{tag}: {f.message}")
    err.print(f"errors {totals['error']} · warnings {totals['warning']} · info {totals['info']}", highlight=False)


def _source_text(folder: Optional[Path], document: str) -> tuple[str | None, list]:
    """A record's source text and its forms' chunks, where the source folder has it."""
    if folder is None or not (folder / document).is_file():
        return None, []
    try:
        doc = ingest(folder / document)
        return doc.text, segment(doc)
    except JixiaoError:
        return None, []


def _default_to(command: str) -> type[TyperGroup]:
    """A command group whose bare use runs `command`: `jixiao eval --gold D P` is
    `jixiao eval score --gold D P`, `jixiao review DIR` is `jixiao review serve DIR`."""

    class Group(TyperGroup):
        def parse_args(self, ctx, args):
            if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
                args = [command, *args]
            return super().parse_args(ctx, args)

    return Group


eval_app = typer.Typer(cls=_default_to("score"), no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                       pretty_exceptions_enable=False,
                       help="评估 / Evaluate extraction accuracy against hand-labelled gold.")
app.add_typer(eval_app, name="eval")


def _chosen_backend(backend: Optional[str], no_cache: bool, **options) -> tuple[LLMSettings, Backend]:
    """The settings (options over environment over config file) and the back-end they choose;
    a setting that cannot be used ends the command with exit code 2."""
    try:
        settings = load_settings(**options)
        chosen = get_backend(backend or default_backend(settings), settings, use_cache=not no_cache)
        _check_examples_used(options["examples"], options["examples_k"], options["examples_tokens"], chosen)
    except JixiaoError as exc:
        _fail(exc, 2)
    return settings, chosen


def _check_examples_used(examples, examples_k, examples_tokens, backend) -> None:
    """Examples asked for on the command line with a back-end that asks no LLM (`rules`, the
    default without an endpoint) would be ignored without a word: refused by name."""
    if backend.recipe.name == "rules" and (examples, examples_k, examples_tokens) != (None, None, None):
        raise BadExamples("--examples 只用于大模型后端（--backend llm 或 hybrid，需设置接口）；rules 后端不看示例 / "
                          "--examples is for the LLM back-ends (--backend llm or hybrid, with an endpoint set): the "
                          "rules back-end reads no examples")


def _fail(exc: JixiaoError, code: int = 1) -> None:
    err.print("error 错误:", style="red", end=" ")
    err.print(str(exc), markup=False, highlight=False)
    raise typer.Exit(code)


def _emit(report: EvalReport, as_json: bool, html_path: Optional[Path]) -> None:
    from .report import render_html, render_text

    if html_path:
        html_path.write_text(render_html(report), encoding="utf-8")
        err.print(f"report written to {html_path}", markup=False, highlight=False)
    if as_json:
        typer.echo(report.model_dump_json(indent=1))
    else:
        typer.echo(render_text(report))


@eval_app.command("score")
def eval_score(
    predictions: Annotated[Path, typer.Argument(help="JSON lines written by `jixiao extract`.")],
    gold: Annotated[Path, typer.Option("--gold", help="Folder of gold files (<stem>.json).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as one JSON object.")] = False,
    report: Annotated[Optional[Path], typer.Option("--report", help="Also write an HTML report here.")] = None,
) -> None:
    """评分 / Score predictions against gold: fields, forms, rows, misses, confidence."""
    from .eval_runs import load_gold, load_predictions
    from .evaluate import evaluate

    try:
        result = evaluate(load_gold(gold), load_predictions(predictions))
    except JixiaoError as exc:
        _fail(exc)
    result.run = {"predictions": str(predictions), "gold": str(gold)}
    _emit(result, as_json, report)


@eval_app.command("run")
def eval_run_command(
    fixtures: Annotated[Path, typer.Argument(help="Folder with raw/ and gold/.")] = Path("fixtures"),
    backend: Annotated[str, typer.Option(help=f"Back-end: {', '.join(sorted(REGISTRY))}.")] = "rules",
    runs_dir: Annotated[Path, typer.Option(help="Where runs are kept.")] = Path("evals/runs"),
    noise: Annotated[int, typer.Option(help="Also score this many noisy variants of each document.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as one JSON object.")] = False,
) -> None:
    """提取并评分 / Extract the fixtures and score them, keeping the run under evals/runs/<time>-<backend>/."""
    try:
        chosen = get_backend(backend)
    except JixiaoError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        raise typer.Exit(2) from None
    from .eval_runs import eval_run

    try:
        folder, result = eval_run(fixtures, chosen, runs_dir, noise)
    except JixiaoError as exc:
        _fail(exc)
    err.print(f"run kept in {folder}", markup=False, highlight=False)
    _emit(result, as_json, None)


@eval_app.command("compare")
def eval_compare(
    run_a: Annotated[Path, typer.Argument(help="The earlier run (folder or report.json).")],
    run_b: Annotated[Path, typer.Argument(help="The later run.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the deltas as JSON.")] = False,
) -> None:
    """比较两次运行 / Per-field accuracy deltas between two runs, regressions first."""
    from .eval_runs import compare_runs, load_report

    try:
        deltas = compare_runs(load_report(run_a), load_report(run_b))
    except JixiaoError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps([d.model_dump() for d in deltas], ensure_ascii=False, indent=1))
        return
    for d in deltas:
        mark = "REGRESSION" if d.delta < 0 else "improved" if d.delta > 0 else "same"
        typer.echo(f"{d.delta * 100:+7.2f} pp  {d.before * 100:6.2f}% → {d.after * 100:6.2f}%  {d.field}  {mark}")


review_app = typer.Typer(cls=_default_to("serve"), no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                         pretty_exceptions_enable=False,
                         help="复核 / Review low-confidence forms of a run in the browser.")
app.add_typer(review_app, name="review")


@review_app.command("serve")
def review_serve(
    folder: Annotated[Path, typer.Argument(help="The --out folder of `jixiao run`.")],
    port: Annotated[int, typer.Option(help="Port on the host.")] = 8765,
    host: Annotated[str, typer.Option(help="Listen here; the default keeps it on this machine.")] = "127.0.0.1",
    reviewer: Annotated[str, typer.Option(help="Your name, written into the audit log.")] = "reviewer",
) -> None:
    """启动复核页面 / Start the review app over a run's store (loopback only unless --host says otherwise;
    off loopback every request needs the access token printed once at start)."""
    import secrets
    import socket

    from .store import Store
    from .review.app import WILDCARD_HOSTS, is_loopback, serve

    try:
        # Opened before serving: a folder that holds no store, or one a newer jixiao wrote, is
        # said as an error, not a traceback after the address was printed.
        Store.existing(folder).close()
    except JixiaoError as exc:
        _fail(exc)
    token = None if is_loopback(host) else secrets.token_urlsafe(32)
    name = socket.gethostname() if host in WILDCARD_HOSTS else host
    name = f"[{name}]" if ":" in name else name
    url = f"http://{name}:{port}/" + (f"?token={token}" if token else "")
    if token:
        err.print(f"注意：在 {host} 上监听，能连到本机的人凭下面的网址（含访问令牌）即可修改记录，请勿外传 / "
                  f"listening on {host}: anyone with the URL below (it holds the access token) can edit the records; "
                  "keep it private. The traffic is plain HTTP.", style="yellow", markup=False, highlight=False)
    typer.echo(f"复核 review at {url}  (Ctrl-C 停止 to stop)", err=True)
    serve(folder, host, port, reviewer, token)


@review_app.command("export-gold")
def review_export_gold(
    folder: Annotated[Path, typer.Argument(help="The --out folder of `jixiao run`.")],
    to: Annotated[Path, typer.Option("--to", help="Folder for the gold files, e.g. fixtures/gold/.")],
) -> None:
    """导出金标准 / Approved, corrected records as gold files (<document-stem>.json), so review feeds the evals."""
    from .review import Review

    try:
        review = Review(folder)
    except JixiaoError as exc:
        _fail(exc)
    try:
        for path in review.export_gold(to):
            typer.echo(str(path))
        for message in review.skipped:
            err.print(message, markup=False, highlight=False)
    finally:
        review.close()


if __name__ == "__main__":  # pragma: no cover
    app()
