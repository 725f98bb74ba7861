"""`jixiao run`: a resumable store that survives kill -9, bad inputs that fail alone, exports."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import RAW, SEEDS
from jixiao.batch import run_batch
from jixiao.store import DB_NAME


def stored(out):
    db = sqlite3.connect(out / DB_NAME)
    try:
        rows = db.execute("SELECT d.name, f.form_index, f.record FROM forms f JOIN documents d ON d.id = f.document_id"
                          " ORDER BY d.name, f.form_index").fetchall()
    finally:
        db.close()
    return rows


def run_cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "jixiao", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"}, **kw)


@pytest.mark.slow
def test_a_rerun_skips_finished_documents(tmp_path):
    first = run_cli("run", RAW, "--out", tmp_path / "out")
    assert first.returncode == 0, first.stderr
    assert len(stored(tmp_path / "out")) == 21
    second = run_cli("run", RAW, "--out", tmp_path / "out")
    assert second.returncode == 0
    summary = run_batch([RAW], tmp_path / "out")
    assert (summary.skipped, summary.done) == (4, 0)
    assert len(stored(tmp_path / "out")) == 21


def _many(folder, copies):
    folder.mkdir()
    for k in range(copies):
        for seed in SEEDS:
            # Distinct content per copy, so no copy counts as a duplicate of another.
            text = seed.read_text(encoding="utf-8") + f"\n<!-- copy {k} -->\n"
            (folder / f"{k:03d}_{seed.name}").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.slow
def test_kill_9_at_any_moment_loses_nothing_and_duplicates_nothing(tmp_path):
    docs = _many(tmp_path / "docs", 40)
    reference = run_cli("run", docs, "--out", tmp_path / "reference")
    assert reference.returncode == 0, reference.stderr
    expected = stored(tmp_path / "reference")
    assert len(expected) == 40 * 21
    out = tmp_path / "out"
    for quarter in (1, 2, 3):
        # Kill once a quarter, a half, three quarters of the forms are stored: mid-run
        # whatever the machine's speed.
        process = subprocess.Popen([sys.executable, "-m", "jixiao", "run", str(docs), "--out", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if len(stored(out)) >= quarter * len(expected) // 4:
                    break
            except sqlite3.OperationalError:  # the store is not made yet
                pass
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait()
    partial = stored(out)
    assert len(partial) < len(expected)  # the kills landed before the end
    final = run_cli("run", docs, "--out", out)
    assert final.returncode == 0, final.stderr
    assert stored(out) == expected  # every form exactly once, the same records


def test_bad_inputs_fail_alone_with_clear_messages(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a_empty.txt").write_bytes(b"")
    (docs / "b_binary.txt").write_bytes(bytes(range(256)) * 8)
    (docs / "c_undecodable.txt").write_bytes(b"\x81\x30" * 50 + b"\xff\xfe\xfd" * 50)
    (docs / "d_gb18030.txt").write_bytes(SEEDS[3].read_text(encoding="utf-8").encode("gb18030"))
    with (docs / "e_huge.txt").open("wb") as f:
        f.truncate(50 * 2**20)  # 50 MB
    (docs / "f_memo.txt").write_text("会议纪要：本次会议没有表格。\n", encoding="utf-8")
    seed = SEEDS[0].read_text(encoding="utf-8")
    (docs / "g_cut.txt").write_text(seed[: seed.index("老党员满意度")], encoding="utf-8")
    shutil.copy(SEEDS[1], docs / "h_original.txt")
    shutil.copy(SEEDS[1], docs / "i_copy.txt")
    (docs / "j_removed.txt").write_text(SEEDS[2].read_text(encoding="utf-8"), encoding="utf-8")
    removed = []

    def remove_once(summary):
        if not removed and (docs / "j_removed.txt").exists() and summary.documents == 10:
            (docs / "j_removed.txt").unlink()
            removed.append(True)

    summary = run_batch([docs], tmp_path / "out", progress=remove_once)
    text = "\n".join(summary.messages)
    for name, words in [("a_empty.txt", "empty"), ("b_binary.txt", "binary"), ("c_undecodable.txt", "decode"),
                        ("e_huge.txt", "too large"), ("f_memo.txt", "no form"), ("g_cut.txt", "cut off"),
                        ("i_copy.txt", "same content as h_original.txt"), ("j_removed.txt", "not found")]:
        assert any(name in m and words in m for m in summary.messages), (name, text)
    names = [name for name, _, _ in stored(tmp_path / "out")]
    assert "d_gb18030.txt" in names and "h_original.txt" in names and "g_cut.txt" in names
    assert summary.failed == 6 and summary.duplicates == 1 and not summary.ok


def test_a_scan_may_be_ten_times_the_size_limit_of_text(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    with (docs / "scan.pdf").open("wb") as f:  # 50 MB: a scan's size, read (and found broken)
        f.write(b"%PDF-1.4 not really")
        f.truncate(50 * 2**20)
    with (docs / "huge.tif").open("wb") as f:  # 250 MB: too large even for a scan
        f.truncate(250 * 2**20)
    messages = run_batch([docs], tmp_path / "out").messages
    (scan,) = [m for m in messages if "scan.pdf" in m]
    (huge,) = [m for m in messages if "huge.tif" in m]
    assert "not a readable PDF" in scan and "too large" not in scan
    assert "250 MB > 200 MB" in huge


@pytest.mark.slow
def test_an_unwritable_output_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    result = run_cli("run", RAW, "--out", blocker / "out")
    assert result.returncode == 2
    assert "cannot write to the output folder" in result.stderr and "a_file" in result.stderr


@pytest.mark.slow
def test_exports_open_in_excel_and_hold_every_indicator_row(tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "out"
    assert run_cli("run", RAW, "--out", out).returncode == 0
    result = run_cli("export", out, "--format", "xlsx", "-o", tmp_path / "seeds.xlsx")
    assert result.returncode == 0, result.stderr
    book = load_workbook(tmp_path / "seeds.xlsx", read_only=True)
    assert book.sheetnames == ["forms", "funds", "indicators", "findings"]
    indicators = list(book["indicators"].values)
    assert indicators[0][:7] == ("文档", "表序号", "项目名称", "行号", "一级指标", "二级指标", "三级指标")
    assert len(indicators) - 1 == 270
    assert len(list(book["forms"].values)) - 1 == 21
    assert run_cli("export", out, "--format", "csv", "-o", tmp_path / "csv").returncode == 0
    raw = (tmp_path / "csv" / "indicators.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "一级指标".encode() in raw
    assert run_cli("export", out, "--format", "jsonl", "-o", tmp_path / "all.jsonl").returncode == 0
    lines = (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()
    assert sum(len(json.loads(line)["forms"]) for line in lines) == 21


@pytest.mark.slow
def test_export_of_a_folder_without_a_store_is_a_clear_error(tmp_path):
    result = run_cli("export", tmp_path, "--format", "csv")
    assert result.returncode == 2 and DB_NAME in result.stderr
    assert run_cli("export", tmp_path, "--format", "pdf").returncode == 2


def test_deciding_what_to_read_writes_nothing(tmp_path):
    # _verdict says what a run does with an input; the store is written by _to_do, which acts
    # on it. A copy of a finished document and a file gone are only decided on.
    from jixiao.batch import _Run, _verdict
    from jixiao.schema import BatchSummary
    from jixiao.store import Store

    seed = sorted(RAW.glob("*.txt"))[0]
    (tmp_path / "in").mkdir()
    shutil.copy(seed, tmp_path / "in" / "a.txt")
    run_batch([tmp_path / "in"], tmp_path / "out")
    shutil.copy(seed, tmp_path / "in" / "copy.txt")
    (tmp_path / "in" / "empty.txt").write_bytes(b"")
    store = Store(tmp_path / "out")
    try:
        before = store.documents()
        copy = _verdict(tmp_path / "in" / "copy.txt", "copy.txt", "in", store, BatchSummary(), _Run(), False, 50)
        gone = _verdict(tmp_path / "in" / "gone.txt", "gone.txt", "in", store, BatchSummary(), _Run(), False, 50)
        assert (copy.action, copy.twin[1]) == ("duplicate", "a.txt")
        assert gone.action == "failed" and "gone.txt" in gone.message
        assert store.documents() == before
    finally:
        store.close()
    summary = run_batch([tmp_path / "in"], tmp_path / "out")
    assert (summary.duplicates, summary.failed, summary.skipped) == (1, 1, 1)
