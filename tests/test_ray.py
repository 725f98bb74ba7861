"""`jixiao run --engine ray` on a local Ray cluster (`ray start --head`, started once for the
module on the loopback address, stopped after it): the same store as a plain run, a file that
kills its Ray worker failing alone, and a killed run that resumes. Every Ray driver is a
process of its own, as a user's run is: the test process never joins the cluster."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jixiao.batch import run_batch
from test_workers import _poisoned, _stored_forms, documents, tables

RAY = Path(sys.executable).parent / "ray"
TESTS = Path(__file__).resolve().parent
# Ray's one-machine setting (it keeps to 127.0.0.1), and its token authentication, on by default
# for `ray start`: a driver joins with the token `ray start` left in ~/.ray.
LOOPBACK = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not RAY.exists(), reason="Ray is not installed (pip install 'jixiao[ray]')")]


@pytest.fixture(scope="module")
def cluster():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    head = subprocess.Popen([str(RAY), "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **LOOPBACK})
    try:
        deadline = time.monotonic() + 120
        for line in head.stdout:
            if "Ray runtime started" in line or time.monotonic() > deadline:
                break
        assert head.poll() is None, "ray start --head failed"
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # `ray start --block` stops the processes it started
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()


def jixiao(*args, **kw):
    return subprocess.run([sys.executable, "-m", "jixiao", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **LOOPBACK, **kw.pop("env", {})}, **kw)


def test_ray_stores_what_a_plain_run_stores(cluster, tmp_path):
    docs = documents(tmp_path / "docs", 2)
    plain = run_batch([docs], tmp_path / "plain", workers=1)
    on_ray = jixiao("run", docs, "--out", tmp_path / "ray", "--engine", "ray", "--ray-address", cluster)
    assert on_ray.returncode == 1, on_ray.stderr  # the two unreadable files
    assert (plain.done, plain.duplicates, plain.failed) == (8, 1, 2)
    assert tables(tmp_path / "ray") == tables(tmp_path / "plain")
    # The empty file was read on a Ray worker: its error names the file, not the worker's copy.
    assert str(docs / "empty.txt") in on_ray.stderr and "jixiao-ray-" not in on_ray.stderr


def test_a_file_that_kills_its_ray_worker_fails_alone(cluster, tmp_path):
    docs, expected = _poisoned(tmp_path)
    script = (
        "import json, sys, ray\n"
        f"sys.path.insert(0, {str(TESTS)!r})\n"
        "import test_workers\n"
        "from jixiao.pipeline import extract_paths\n"
        f"ray.init(address={cluster!r}, logging_level='warning')\n"
        "ray.cloudpickle.register_pickle_by_value(test_workers)  # the test's back-end, sent by value\n"
        f"results = extract_paths([{str(docs)!r}], test_workers.KillsItsProcess('POISON'), engine='ray')\n"
        "print('RESULTS', json.dumps([[r.path, r.error, r.record and r.record.model_dump(mode='json')] for r in results]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **LOOPBACK})
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
    results = json.loads(line.removeprefix("RESULTS "))
    assert [path for path, _, _ in results] == [path for path, _ in expected]
    (dead,) = [error for path, error, _ in results if path.endswith("001_poison.txt")]
    assert "Ray 工作进程意外退出" in dead and "the Ray worker reading this file died" in dead
    assert [(path, record) for path, _, record in results if not path.endswith("001_poison.txt")] == \
        [(path, record and record.model_dump(mode="json")) for path, record in expected
         if not path.endswith("001_poison.txt")]


def test_a_killed_ray_run_resumes_to_the_same_store(cluster, tmp_path):
    docs = documents(tmp_path / "docs", 15)
    run_batch([docs], tmp_path / "reference", workers=1)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "jixiao", "run", str(docs), "--out", str(out), "--engine", "ray",
               "--ray-address", cluster]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **LOOPBACK})
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and _stored_forms(out) < 60:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < _stored_forms(out) < 15 * 21
    again = jixiao("run", docs, "--out", out, "--engine", "ray", "--ray-address", cluster,
                   env={"JIXIAO_LOCK_WAIT": "0"})
    assert again.returncode == 1, again.stderr  # the two unreadable files
    assert tables(out) == tables(tmp_path / "reference")


def test_an_actors_ocr_engine_runs_on_the_one_cpu_it_is_given(monkeypatch):
    from jixiao.backends import get_backend
    from jixiao.ingest import ocr
    from jixiao.pipeline import read_here
    from jixiao.ray_engine import _Reader

    # set, then removed: monkeypatch then removes what the actor sets, after the test (a plain
    # delenv of an unset variable records nothing, and the actor's setting leaked to later tests)
    monkeypatch.setenv("JIXIAO_OCR_THREADS", "")
    monkeypatch.delenv("JIXIAO_OCR_THREADS")
    _Reader(read_here, get_backend("rules"), 0.8, 1, None, False)  # what each Ray actor builds first
    assert ocr.ocr_threads() == 1 and len(ocr.Engines().for_pages(10)) == 1
