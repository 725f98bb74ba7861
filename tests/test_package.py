"""The prompts ship inside the wheel and render strictly."""

import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from jixiao.errors import ConfigError
from jixiao.templates import render_prompt


def test_wheel_contains_the_prompts(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("jixiao-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    expected = {f"jixiao/prompts/{p.name}" for p in (ROOT / "prompts").glob("*.md")}
    assert expected and expected <= set(names)
    assert "jixiao/cli.py" in names


def test_prompts_render_with_the_chunk_text():
    text = render_prompt("extract_self_evaluation", chunk_text="项目名称 居委办公经费")
    assert "项目名称 居委办公经费" in text and "Never recompute" in text


def test_a_missing_template_value_is_an_error():
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render_prompt("extract_target_declaration")


def test_an_unknown_prompt_is_a_config_error():
    with pytest.raises(ConfigError, match="no prompt"):
        render_prompt("extract_nothing")
