"""Worker processes (`--workers N`): the same output and the same store as one process, a
file that breaks its worker failing alone, and a killed run that resumes."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import GOLD, RAW, SEEDS
from fakeserver import FakeOpenAI, gold_answerer
from jixiao.backends.rules import RulesBackend
from jixiao.backends import get_backend
from jixiao.batch import run_batch
from jixiao.config import LLMSettings
from jixiao.pipeline import extract_paths
from jixiao.store import DB_NAME
from jixiao.eval_runs import load_gold


def cli(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "jixiao", *map(str, args)], capture_output=True, timeout=300,
                          env={**os.environ, **(env or {})}, **kw)


def documents(folder: Path, copies: int) -> Path:
    """The seeds `copies` times over (each copy its own content), a copy of one of them under
    another name (a duplicate), and two files that cannot be read."""
    folder.mkdir()
    for k in range(copies):
        for seed in SEEDS:
            text = seed.read_text(encoding="utf-8") + f"\n<!-- copy {k} -->\n"
            (folder / f"{k:03d}_{seed.name}").write_text(text, encoding="utf-8")
    shutil.copy(folder / f"000_{SEEDS[1].name}", folder / "zz_copy.txt")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 8)
    return folder


def tables(out: Path) -> dict[str, list[tuple]]:
    """Every table of the store, row by row (ids included), without the times rows were written."""
    db = sqlite3.connect(out / DB_NAME)
    try:
        dumped = {}
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"):
            columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")
                       if not (c[1] == "at" or c[1].endswith("_at"))]
            dumped[table] = db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid").fetchall()
        return dumped
    finally:
        db.close()


@pytest.mark.slow
def test_extract_writes_the_same_lines_with_one_worker_or_two(tmp_path):
    docs = documents(tmp_path / "docs", 3)
    one = cli("extract", docs, "--workers", "1")
    two = cli("extract", docs, "--workers", "2")
    assert one.returncode == two.returncode == 1  # the two unreadable files
    assert len(one.stdout.splitlines()) == 13 and two.stdout == one.stdout
    summary = [line for line in one.stderr.splitlines() if line.startswith(b"documents 15 ")]
    assert summary == [line for line in two.stderr.splitlines() if line.startswith(b"documents 15 ")]
    assert b"failed documents 2" in summary[0]
    assert two.stderr.count(b"binary.txt") == one.stderr.count(b"binary.txt") == 1


@pytest.mark.slow
def test_run_stores_the_same_tables_with_one_worker_or_two(tmp_path):
    docs = documents(tmp_path / "docs", 3)
    one = run_batch([docs], tmp_path / "one", workers=1)
    two = run_batch([docs], tmp_path / "two", workers=2)
    assert one == two and (two.done, two.duplicates, two.failed) == (12, 1, 2)
    assert tables(tmp_path / "one") == tables(tmp_path / "two")
    assert len(tables(tmp_path / "two")["forms"]) == 63


class KillsItsProcess(RulesBackend):
    """The rules back-end, but a form printing `marker` kills the process reading it (as the
    kernel's OOM killer or a crash in a native library would)."""

    def __init__(self, marker: str):
        self.marker, self.rules = marker, RulesBackend()

    def extract(self, chunk):
        if self.marker in chunk.text:
            os.kill(os.getpid(), signal.SIGKILL)
        return self.rules.extract(chunk)


class ReturnsNothing(KillsItsProcess):
    """A bug past the back-end's own guard: no record at all for the form printing `marker`."""

    def extract(self, chunk):
        return None if self.marker in chunk.text else self.rules.extract(chunk)


def _poisoned(tmp_path: Path) -> tuple[Path, list]:
    docs = documents(tmp_path / "docs", 2)
    poison = docs / "001_poison.txt"
    poison.write_text(SEEDS[0].read_text(encoding="utf-8").replace("党群综合服务", "党群综合服务POISON", 1),
                      encoding="utf-8")
    expected = [(r.path, r.record) for r in extract_paths([docs], "rules")]
    return docs, expected


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a forked worker inherits the test's back-end")
def test_a_file_that_kills_its_worker_fails_alone_and_the_rest_is_read(tmp_path):
    docs, expected = _poisoned(tmp_path)
    results = list(extract_paths([docs], KillsItsProcess("POISON"), workers=2))
    assert [r.path for r in results] == [path for path, _ in expected]
    (dead,) = [r for r in results if r.path.endswith("001_poison.txt")]
    assert "工作进程意外退出" in dead.error and "worker process reading this file ended" in dead.error
    assert [(r.path, r.record) for r in results if r is not dead] == [e for e in expected
                                                                       if not e[0].endswith("001_poison.txt")]


@pytest.mark.slow
def test_a_readers_fault_fails_its_file_by_name_in_a_worker_as_in_one_process(tmp_path):
    docs, expected = _poisoned(tmp_path)
    one = list(extract_paths([docs], ReturnsNothing("POISON"), workers=1))
    two = list(extract_paths([docs], ReturnsNothing("POISON"), workers=2))
    assert [(r.path, r.record, r.error) for r in one] == [(r.path, r.record, r.error) for r in two]
    (bad,) = [r for r in two if not r.ok and r.path.endswith("001_poison.txt")]
    assert "意外错误" in bad.error and "unexpected error" in bad.error and "AttributeError" in bad.error
    assert "AttributeError" in bad.traceback
    assert sum(r.ok for r in two) == len(expected) - 3  # the poisoned file and the two unreadable ones


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _stored_forms(out: Path) -> int:
    try:
        db = sqlite3.connect(out / DB_NAME)
        try:
            return db.execute("SELECT COUNT(*) FROM forms").fetchone()[0]
        finally:
            db.close()
    except sqlite3.OperationalError:  # not made yet
        return 0


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the workers")
def test_a_run_killed_with_its_workers_resumes_at_once_to_the_same_store(tmp_path):
    docs = documents(tmp_path / "docs", 25)
    run_batch([docs], tmp_path / "reference", workers=1)
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "jixiao", "run", str(docs), "--out", str(out), "--workers", "2"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    workers = []
    while process.poll() is None and time.monotonic() < deadline and _stored_forms(out) < 150:
        workers = _children(process.pid) or workers
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(workers) == 2 and 0 < _stored_forms(out) < 25 * 21
    # No worker keeps the run lock: the next run starts without waiting.
    again = cli("run", docs, "--out", out, "--workers", "2", env={"JIXIAO_LOCK_WAIT": "0"})
    assert again.returncode == 1, again.stderr  # the two unreadable files
    assert tables(out) == tables(tmp_path / "reference")
    deadline = time.monotonic() + 10
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_alive, workers)), "workers outlived the killed run"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_an_llm_run_shares_its_concurrency_among_workers(tmp_path):
    gold = [f.model_dump(mode="json") for g in load_gold(GOLD) for f in g.forms]
    with FakeOpenAI(gold_answerer(gold), latency=0.05) as server:
        settings = LLMSettings(base_url=server.base_url, model="fake-model", mode="tools", concurrency=2,
                               cache_dir=tmp_path / "one")
        one = b"".join(r.line + b"\n" for r in extract_paths([RAW], get_backend("llm", settings), concurrency=2,
                                                              lines=True))
    with FakeOpenAI(gold_answerer(gold), latency=0.05) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "JIXIAO_MODEL": "fake-model", "JIXIAO_CACHE": str(tmp_path / "two")}
        two = cli("extract", RAW, "--backend", "llm", "--mode", "tools", "--concurrency", "2", "--workers", "2", env=env)
        assert two.returncode == 0, two.stderr
        # Two workers, one request in flight each: the run's --concurrency 2, not 2 per worker.
        assert server.completions == 21 and server.max_in_flight == 2
    assert b"LLM usage: requests 21" in two.stderr  # summed over the workers
    assert two.stdout == one


def test_engine_ray_without_ray_installed_says_how_to_install_it(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from jixiao.cli import app

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as it does where it is not installed
    result = CliRunner().invoke(app, ["run", str(RAW), "--out", str(tmp_path / "out"), "--engine", "ray"])
    assert result.exit_code == 2
    assert "没有安装 Ray" in result.output and "Ray is not installed: pip install 'jixiao[ray]'" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a forked worker inherits the test's back-end")
def test_batches_sent_after_a_worker_died_are_read_in_a_fresh_pool(tmp_path):
    # A worker can die while batches are still going in (a poisoned first file is quick); the
    # pool is broken before a later batch is submitted. Here that moment is made certain.
    from functools import partial

    from jixiao.pipeline import read_here
    from jixiao.workers import _Pool, _read_batch

    docs = documents(tmp_path / "docs", 2)
    paths = sorted(docs.iterdir())
    expected = [(r.path, r.record) for r in extract_paths(paths, "rules")]
    pool = _Pool(2, RulesBackend())
    for process in list(pool.executor._processes.values()):
        process.kill()
    deadline = time.monotonic() + 10
    while not pool.executor._broken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.executor._broken, "the killed workers were not noticed"
    job = partial(_read_batch, read=read_here, threshold=0.8, concurrency=1, max_file_mb=None, lines=False)
    results = list(pool.results([[path] for path in paths], job))
    assert [(r.path, r.record) for r in results] == expected
