"""The prompts ship inside the wheel and render strictly; test code (the fake server) does not ship."""

import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from jixiao.errors import ConfigError
from jixiao.prompting import render_prompt


@pytest.mark.slow
def test_wheel_contains_the_prompts_and_no_test_code(tmp_path):
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(tmp_path.glob("jixiao-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    expected = {f"jixiao/prompts/{p.name}" for p in (ROOT / "prompts").glob("*.md")}
    assert expected and expected <= set(names)
    assert "jixiao/cli.py" in names
    # The fake OpenAI server and the fallible model are test code (tests/fakeserver.py).
    shipped = "\n".join(zipfile.ZipFile(wheel).read(n).decode("utf-8", "replace") for n in names if n.endswith(".py"))
    assert "jixiao/testing.py" not in names and "class FakeOpenAI" not in shipped and "class FallibleModel" not in shipped


def test_prompts_render_with_the_chunk_text():
    text = render_prompt("extract_self_evaluation", chunk_text="项目名称 居委办公经费")
    assert "项目名称 居委办公经费" in text and "Never recompute" in text


def test_the_prompts_every_request_shares_are_files_too():
    # The system message, a long form's part note, the two re-asks and the mode probe: each a
    # versioned file in prompts/, rendered with its values.
    assert "exactly as printed" in render_prompt("system")
    assert "第2/3部分" in render_prompt("part", part=2, parts=3) and "Part 2 of 3" in render_prompt("part", part=2, parts=3)
    rows = render_prompt("reask_rows", seen=19, returned=16)
    assert "有19行" in rows and "you returned 16" in rows
    quoted = render_prompt("reask_suspects", suspects=["funds.total.executed", "name"],
                           places=[("funds.total.executed", "「1,596.51」")])
    assert "as printed: funds.total.executed, name\n" in quoted and quoted.endswith("- funds.total.executed: 「1,596.51」")
    assert render_prompt("reask_suspects", suspects=["name"], places=[]).endswith("(none found)")
    assert "JIXIAO-PROBE" in render_prompt("probe")


def test_a_missing_template_value_is_an_error():
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        render_prompt("extract_target_declaration")


def test_an_unknown_prompt_is_a_config_error():
    with pytest.raises(ConfigError, match="no prompt"):
        render_prompt("extract_nothing")
