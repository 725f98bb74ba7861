"""The `jixiao` command: a thin typer layer over the library API.

Data goes to stdout (or -o), progress and messages to stderr. Exit 0 all good, 1 some
inputs failed (the rest written), 2 usage error."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import jsonlines
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from . import __version__
from .backends import REGISTRY, get_backend
from .errors import JixiaoError
from .ingest import iter_paths
from .pipeline import extract_paths
from .schema import DocumentResult

app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
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


@app.command()
def extract(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders (.txt, .md) to read.")],
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write JSON lines here, not stdout.")] = None,
    backend: Annotated[str, typer.Option(help=f"Back-end: {', '.join(sorted(REGISTRY))}.")] = "rules",
    debug: Annotated[bool, typer.Option(help="Show tracebacks for unexpected errors.")] = False,
) -> None:
    """提取 / Extract: one JSON line per document, {"document": ..., "forms": [...]}."""
    try:
        chosen = get_backend(backend)
    except JixiaoError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None
    paths = iter_paths(inputs)
    if not paths:
        err.print("error: 没有可读取的文件 / no input files found (.txt, .md)", highlight=False)
        raise typer.Exit(2)
    failed = forms = 0
    sink = output.open("w", encoding="utf-8") if output else nullcontext(sys.stdout)
    with sink as stream, jsonlines.Writer(stream, dumps=_dumps, flush=True) as writer, _progress(len(paths)) as bar:
        task = bar.add_task("extract", total=len(paths)) if bar else None
        for result in extract_paths(paths, chosen):
            if result.ok:
                writer.write(result.record.model_dump(mode="json"))
                forms += len(result.record.forms)
            else:
                failed += 1
                _report(result, debug)
            if bar:
                bar.advance(task)
    err.print(f"documents {len(paths)} · forms {forms} · failed {failed}  "
              f"(文档 {len(paths)} · 表 {forms} · 失败 {failed})", highlight=False)
    raise typer.Exit(1 if failed else 0)


def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _progress(total: int):
    if total <= 1:
        return nullcontext(None)
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=err, transient=True)


def _report(result: DocumentResult, debug: bool) -> None:
    err.print("failed 失败:", style="red", end=" ")
    err.print(result.error, markup=False, highlight=False)
    if debug and result.traceback:
        err.print(result.traceback, markup=False, highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app()
