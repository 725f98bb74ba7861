"""The `jixiao` command as a user runs it: a real process, real files, real exit codes."""

import json
import subprocess
import sys

import pytest

from conftest import RAW, SEEDS

pytestmark = pytest.mark.slow  # every test here takes seconds (pytest -m "not slow" leaves them out)


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "jixiao", *map(str, args)], capture_output=True, text=True,
                          encoding="utf-8", cwd=cwd, timeout=120)


def test_extract_a_folder_to_stdout():
    result = run("extract", RAW)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["document"] for line in lines] == [p.name for p in SEEDS]
    assert sum(len(line["forms"]) for line in lines) == 21
    assert "forms 21" in result.stderr and "failed documents 0" in result.stderr


def test_extract_to_a_file_keeps_chinese_readable(tmp_path):
    out = tmp_path / "out.jsonl"
    result = run("extract", SEEDS[0], "-o", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert "党群综合服务" in text  # ensure_ascii=False: Chinese as Chinese
    form = json.loads(text)["forms"][0]
    assert form["kind"] == "self_evaluation" and form["source"]["document"] == SEEDS[0].name


def test_bad_inputs_fail_alone_and_the_batch_goes_on(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)))
    (tmp_path / "memo.txt").write_text("会议纪要：无表格。", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("extract", tmp_path / "empty.txt", SEEDS[0], tmp_path / "binary.txt", tmp_path / "memo.txt",
                 SEEDS[2], "-o", out)
    assert result.returncode == 1
    docs = [json.loads(line)["document"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert docs == [SEEDS[0].name, SEEDS[2].name]
    assert "empty.txt" in result.stderr and "empty" in result.stderr
    assert "binary.txt" in result.stderr and "binary" in result.stderr
    assert "memo.txt" in result.stderr and "no form" in result.stderr
    assert "failed documents 3" in result.stderr


def test_usage_errors_exit_2():
    assert run("extract", "--backend", "nope", RAW).returncode == 2
    assert run("extract").returncode == 2
    assert run("frobnicate").returncode == 2
