"""`jixiao run --engine ray` on a local Ray instance (started once for the module, on the
loopback address): the same store as a plain run, a file that kills its Ray worker failing
alone, and a killed run that resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from jixiao.batch import run_batch
from jixiao.errors import EngineUnavailable
from jixiao.pipeline import extract_paths
from jixiao.ray_engine import require_ray
from test_workers import KillsItsProcess, _poisoned, _stored_forms, documents, tables

try:
    ray = require_ray()
except EngineUnavailable:
    pytest.skip("Ray is not installed (pip install 'jixiao[ray]')", allow_module_level=True)


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="warning")
    # The test back-ends live in test modules the Ray workers cannot import: sent by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[KillsItsProcess.__module__])
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def test_ray_stores_what_a_plain_run_stores(cluster, tmp_path):
    docs = documents(tmp_path / "docs", 2)
    plain = run_batch([docs], tmp_path / "plain", workers=1)
    on_ray = run_batch([docs], tmp_path / "ray", workers=2, engine="ray")
    assert on_ray == plain and (on_ray.done, on_ray.duplicates, on_ray.failed) == (8, 1, 2)
    assert tables(tmp_path / "ray") == tables(tmp_path / "plain")
    # The empty file was read on a Ray worker: its error names the file, not the worker's copy.
    assert any(str(docs / "empty.txt") in m for m in on_ray.messages)


def test_a_file_that_kills_its_ray_worker_fails_alone(cluster, tmp_path):
    docs, expected = _poisoned(tmp_path)
    results = list(extract_paths([docs], KillsItsProcess("POISON"), workers=2, engine="ray"))
    assert [r.path for r in results] == [path for path, _ in expected]
    (dead,) = [r for r in results if r.path.endswith("001_poison.txt")]
    assert "Ray 工作进程意外退出" in dead.error and "the Ray worker reading this file died" in dead.error
    assert [(r.path, r.record) for r in results if r is not dead] == [e for e in expected
                                                                       if not e[0].endswith("001_poison.txt")]


def test_a_killed_ray_run_resumes_to_the_same_store(cluster, tmp_path):
    docs = documents(tmp_path / "docs", 15)
    run_batch([docs], tmp_path / "reference", workers=1)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "jixiao", "run", str(docs), "--out", str(out), "--engine", "ray",
               "--ray-address", cluster, "--workers", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline and _stored_forms(out) < 60:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < _stored_forms(out) < 15 * 21
    again = subprocess.run(command, capture_output=True, text=True, timeout=300,
                           env={**os.environ, "JIXIAO_LOCK_WAIT": "0"})
    assert again.returncode == 1, again.stderr  # the two unreadable files
    assert tables(out) == tables(tmp_path / "reference")
