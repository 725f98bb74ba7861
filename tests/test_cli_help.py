"""`jixiao --help` and `jixiao <command> [<subcommand>] --help` for every command typer knows,
found by walking its command tree (a command added later is checked without being listed here)."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from jixiao.cli import app

_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]{3,}")


def _commands(command, path: tuple[str, ...] = ()):
    """(words after `jixiao`, command) for the root and every command below it (a group holds
    its subcommands in `commands`; typer's own click copy is not click's Group)."""
    yield path, command
    for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


def test_the_tree_has_the_commands_the_readme_names():
    # The walk itself must reach the nested groups, or every check below passes on nothing.
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"", "extract", "run", "eval", "eval score", "review", "review serve"} <= names


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) or "jixiao" for p, _ in COMMANDS])
def test_help_exits_0_with_its_own_text_in_chinese_and_english(path, command):
    result = CliRunner().invoke(app, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: "), result.output
    summary = (command.help or "").strip()
    assert summary, f"`jixiao {' '.join(path)}` has no help text"
    first_line = " ".join(summary.split("\n\n")[0].split())
    assert first_line[:40] in " ".join(result.output.split())
    assert _CJK.search(summary) and _LATIN.search(summary), f"not bilingual: {summary!r}"
