"""Shared fixtures, and a guard: no test may open a connection beyond loopback."""

from __future__ import annotations

import ipaddress
import json
import socket
from pathlib import Path

import pytest

from jixiao.schema import DocumentRecord

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "fixtures" / "raw"
GOLD = ROOT / "fixtures" / "gold"
SEEDS = sorted(RAW.glob("*.txt"))

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"test tried to reach {host}: tests may only use loopback servers")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch, tmp_path):
    # A developer's or CI's own endpoint, key, model or config file must not change what the
    # tests run (an endpoint would make `hybrid` the default back-end); nor may the tests
    # write to the user's cache.
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "JIXIAO_MODEL", "JIXIAO_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIXIAO_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("JIXIAO_CACHE", str(tmp_path / "cache"))


def review_app(folder, reviewer: str = "reviewer", **kwargs):
    """The review app as the tests build it. Starlette's TestClient names the host `testserver`:
    the tests allow that name here, the app itself never does."""
    from jixiao.review.app import LOCAL_HOSTS, create_app

    kwargs.setdefault("hosts", (*LOCAL_HOSTS, "testserver"))
    return create_app(folder, reviewer, **kwargs)


def read_partly(documents, out, failing: int) -> None:
    """A rules run of `documents` into the store `out` in which the form at index `failing` of
    each document fails: each is left partial, for --retry-failed to read again."""
    from jixiao.backends.rules import RulesBackend
    from jixiao.batch import run_batch
    from jixiao.errors import ExtractionFailed

    real = RulesBackend.extract

    def fails(self, chunk):
        if chunk.index == failing:
            raise ExtractionFailed(f"a fault on form {failing + 1}")
        return real(self, chunk)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(RulesBackend, "extract", fails)
        run_batch([documents], out)


def load_gold(stem: str) -> DocumentRecord:
    return DocumentRecord.model_validate(json.loads((GOLD / f"{stem}.json").read_text(encoding="utf-8")))


def run_cli(args: list[str], env: dict):
    """`jixiao ARGS` run in this process with `env` set (no second interpreter to start up), as a
    finished process (returncode, stdout, stderr)."""
    import subprocess

    from typer.testing import CliRunner

    from jixiao.cli import app

    result = CliRunner().invoke(app, args, env=env, catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)
