"""The README's pipeline tables (English and 中文) name modules that exist: a module moved or
renamed without the table following fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "jixiao"
README = (ROOT / "README.md").read_text(encoding="utf-8")
HEADERS = {"English": "| stage | module |", "中文": "| 阶段 | 模块 |"}


def _module_cells(header: str) -> list[str]:
    """The second column of the table that starts with `header`, row by row."""
    start = README.index(header)
    rows = []
    for line in README[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[2])
    return rows


@pytest.mark.parametrize("language", HEADERS)
def test_every_module_the_pipeline_table_names_exists(language):
    cells = _module_cells(HEADERS[language])
    assert len(cells) >= 8, f"the {language} table is missing or cut short"
    named = [name for cell in cells for name in re.findall(r"`([^`]+)`", cell)]
    assert named
    missing = [name for name in named if not (PACKAGE / name).exists()]
    assert not missing, f"the {language} pipeline table names modules that are not in src/jixiao: {missing}"


def test_both_tables_name_the_same_modules():
    english, chinese = ({name for cell in _module_cells(h) for name in re.findall(r"`([^`]+)`", cell)}
                        for h in HEADERS.values())
    assert english == chinese
