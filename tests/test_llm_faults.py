"""Hostile and unlucky endpoints, through the real openai client and instructor: a proxy that
echoes the Authorization header in its errors (the key must show nowhere: logs at DEBUG,
the CLI's output, the store, the export), and an endpoint that is down (refused or dropped
connections, or a hung or firewalled one, whose requests time out: the rules' reading of
every form stands, the cause is named, and a dead endpoint is not asked again and again)."""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import subprocess
import sys
import uuid

import pytest

from conftest import GOLD, SEEDS
from fakeserver import DroppingServer, Fault, FakeOpenAI, SilentServer, gold_answerer, refused_url
from jixiao.backends import get_backend
from jixiao.backends.support import Breaker, EndpointDown
from jixiao.config import LLMSettings
from jixiao.ingest import ingest
from jixiao.pipeline import extract_paths
from jixiao.redact import install_redaction, redact
from jixiao.eval_runs import load_gold as load_gold_dir
from jixiao.segment import segment

GOLD_FORMS = [f.model_dump(mode="json") for g in load_gold_dir(GOLD) for f in g.forms]
KEY = "sk-live-TOPSECRET0123456789"
LOGGERS = ("openai", "instructor", "httpx", "httpx2", "httpcore", "httpcore2", "jixiao")


def settings(base_url: str, tmp_path, **more) -> LLMSettings:
    return LLMSettings(**{"base_url": base_url, "model": "fake-model", "timeout": 5.0, "cache_dir": tmp_path / "cache",
                          **more})


@pytest.fixture
def every_log(caplog):
    """All records of the SDKs' loggers and jixiao's, at DEBUG, as the handlers see them."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _everything_logged(caplog) -> str:
    handler = caplog.handler
    return caplog.text + "\n".join(handler.format(r) + (r.exc_text or "") for r in caplog.records)


# --- the key in someone else's log ------------------------------------------------------------

@pytest.mark.slow
def test_a_key_echoed_by_a_proxy_shows_in_no_log_record_and_no_result(every_log, tmp_path):
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(*[Fault(500, echo_auth=True)] * 6, *[Fault(400, echo_auth=True)] * 2)
        llm = get_backend("llm", settings(server.base_url, tmp_path, api_key=KEY, mode="tools"))
        results = list(extract_paths(SEEDS[:2], llm))
        assert server.completions >= 8 and not server.script  # every echoing fault was sent
    logged, dumped = _everything_logged(every_log), "".join(r.model_dump_json() for r in results)
    assert "TOPSECRET" not in logged + dumped
    assert "Authorization: Bearer ***" in logged  # the echo reached the logs, redacted
    assert any(r.name.startswith("instructor") for r in every_log.records)
    assert any(r.name.startswith("openai") and r.levelno == logging.DEBUG for r in every_log.records)
    assert "proxy_error" in dumped  # the failed forms say why


def test_a_key_of_any_shape_is_hidden_once_configured(every_log, tmp_path):
    odd_key = "Zq7TOPSECRETw9x"  # no sk- prefix: hidden because it is the configured key
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        body = json.dumps({"error": {"message": f"key {odd_key} is not allowed on this route"}})
        server.then(Fault(403, body=body))
        llm = get_backend("llm", settings(server.base_url, tmp_path, api_key=odd_key, mode="tools"))
        logging.getLogger("instructor").error("seen in a third-party message: %s", odd_key)
        result = list(extract_paths(SEEDS[:1], llm))[0]
    logged = _everything_logged(every_log)
    assert "TOPSECRET" not in logged + result.model_dump_json()
    assert "not allowed on this route" in logged
    assert redact(f"Authorization: Bearer {odd_key}") == "Authorization: Bearer ***"


@pytest.mark.parametrize("echo", ["enc=Bearer%20{quoted}", "auth=Bearer+{key}", "q?key={quoted_all}", "{key}"])
def test_a_key_echoed_url_encoded_is_hidden_too(echo):
    from urllib.parse import quote

    key = "Zq7mPp3x+Lw9/TtR2vQ"  # a key of no familiar shape, with characters a URL encodes
    text = echo.format(key=key, quoted=quote(key), quoted_all=quote(key, safe=""))
    shown = redact(f"upstream said: {text} (retry)", key)
    assert "Zq7mPp3x" not in shown and "TtR2vQ" not in shown, shown


def test_a_logger_made_after_installation_and_a_handler_added_later_see_no_key(tmp_path):
    install_redaction(KEY)
    fresh = logging.getLogger(f"httpcore2.made_later_{uuid.uuid4().hex}")  # no filter was ever put on it
    fresh.setLevel(logging.DEBUG)
    seen, handler = io.StringIO(), None
    try:
        handler = logging.StreamHandler(seen)
        logging.getLogger().addHandler(handler)  # added after installation too
        fresh.debug("receive_response_headers.complete return_value=%r", [(b"X-Echo-Authorization", KEY.encode())])
        fresh.warning("key %s in a message", KEY, exc_info=RuntimeError(f"echoed {KEY}"))
        logging.getLogger("jixiao.made_later").error("Authorization: Bearer %s", KEY)
        logging.getLogger("unrelated").warning("%s", "sk-not-ours-0123456789 stays as it is")  # another family: untouched
    finally:
        logging.getLogger().removeHandler(handler)
    text = seen.getvalue()
    assert "TOPSECRET" not in text and text.count("***") >= 3 and "echoed ***" in text
    assert "sk-not-ours-0123456789" in text


def test_a_factory_set_before_installation_still_makes_the_records():
    made = []
    previous = logging.getLogRecordFactory()

    def tagging(*args, **kwargs):
        record = previous(*args, **kwargs)
        made.append(record.name)
        return record

    logging.setLogRecordFactory(tagging)
    try:
        install_redaction(KEY)
        install_redaction(KEY)  # idempotent: wrapped once
        record = logging.getLogger("openai.resources.later").makeRecord(
            "openai.resources.later", logging.DEBUG, __file__, 1, "sent %s", (KEY,), None)
        assert made == ["openai.resources.later"] and record.getMessage() == "sent ***"
        assert logging.getLogRecordFactory().inner is tagging
    finally:
        logging.setLogRecordFactory(previous)


@pytest.mark.slow
def test_the_transport_debug_log_of_a_header_echoing_endpoint_shows_no_key(tmp_path):
    """The reviewer's repro: logging at DEBUG from the start, the CLI, an endpoint answering 502
    with the request's Authorization in a response header: httpcore2's loggers, made on the
    first connection, log the response headers."""
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(*[Fault(502, echo_auth_header="X-Echo-Authorization")] * 8)
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": KEY, "JIXIAO_MODEL": "fake-model",
               "JIXIAO_MODE": "tools", "JIXIAO_CACHE": str(tmp_path / "cache")}
        script = ("import logging, sys; logging.basicConfig(level=logging.DEBUG); from jixiao.cli import app; "
                  "app(sys.argv[1:], prog_name='jixiao')")
        run = subprocess.run([sys.executable, "-c", script, "run", str(SEEDS[0]), "--out", str(tmp_path / "o"),
                              "--backend", "llm"], env=env, capture_output=True, text=True, timeout=180)
        assert not server.script  # every echoing reply was sent
    headers = [line for line in run.stderr.splitlines() if "receive_response_headers.complete" in line]
    assert len(headers) >= 8 and all("X-Echo-Authorization" in line for line in headers[:8]), run.stderr[-2000:]
    assert any(line.startswith("DEBUG:httpcore") for line in headers)
    assert "TOPSECRET" not in run.stdout + run.stderr and "Bearer ***" in run.stderr


def _jixiao(*args, env, cwd=None):
    return subprocess.run([sys.executable, "-m", "jixiao", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.slow
def test_the_cli_never_shows_the_key_in_its_output_store_or_export(tmp_path):
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(*[Fault(500, echo_auth=True)] * 7, *[Fault(401, echo_auth=True)] * 2)
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": KEY, "JIXIAO_MODEL": "fake-model",
               "JIXIAO_MODE": "tools", "OPENAI_LOG": "debug", "JIXIAO_CACHE": str(tmp_path / "cache")}
        run = _jixiao("run", *map(str, SEEDS), "--out", str(tmp_path / "out"), "--backend", "llm", env=env)
        assert not server.script  # every echoing fault was sent
        extract = _jixiao("extract", str(SEEDS[0]), "--backend", "llm", "--no-cache", env=env)
    export = _jixiao("export", str(tmp_path / "out"), "--format", "jsonl", env=env)
    assert run.returncode == 1 and export.returncode == 0, run.stderr + export.stderr
    assert "Bearer ***" in run.stderr  # the SDK's debug log and instructor's errors were printed, redacted
    stored = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file())
    with sqlite3.connect(tmp_path / "out" / "jixiao.sqlite") as db:
        errors = " ".join(str(e) for (e,) in db.execute("SELECT error FROM documents") if e)
    assert "401" in errors
    shown = run.stdout + run.stderr + extract.stdout + extract.stderr + export.stdout + export.stderr
    assert "TOPSECRET" not in shown and b"TOPSECRET" not in stored


# --- the endpoint down ------------------------------------------------------------------------

def _by_form(results):
    return [(r.path, i, f) for r in results for i, f in enumerate(r.record.forms)]


def test_hybrid_with_the_endpoint_dropping_connections_keeps_every_rules_reading(every_log, tmp_path):
    rules = list(extract_paths(SEEDS, "rules"))
    with DroppingServer() as dead:
        hybrid = get_backend("hybrid", settings(dead.base_url, tmp_path))  # mode auto: it probes first
        results = list(extract_paths(SEEDS, hybrid))
        asked = dead.accepts
    assert all(r.ok for r in results)
    for (_, _, mine), (_, _, theirs) in zip(_by_form(results), _by_form(rules), strict=True):
        assert not mine.error and mine.project_name == theirs.project_name
        assert mine.route.decision == theirs.route.decision
        notes = [n.message for n in mine.notes if n.code == "llm_unavailable"]
        assert bool(notes) == (theirs.route.decision == "needs_review")
        assert all("LLM endpoint unreachable" in n and dead.base_url in n for n in notes)
    in_doubt = sum(f.route.decision == "needs_review" for _, _, f in _by_form(rules))
    assert in_doubt >= 2 and asked == 3  # three dropped connections mark it down; then no more
    warnings = [r.getMessage() for r in every_log.records if "LLM endpoint unreachable" in r.getMessage()]
    assert len(warnings) == 1  # the cause, named once
    assert "no instructor mode" not in _everything_logged(every_log)


@pytest.mark.slow
def test_the_llm_back_end_with_the_endpoint_down_names_it_per_document(tmp_path):
    for mode in ("auto", "tools"):
        with DroppingServer() as dead:
            llm = get_backend("llm", settings(dead.base_url, tmp_path / mode, mode=mode))
            results = list(extract_paths(SEEDS, llm, concurrency=4))
            asked = dead.accepts
        assert all(not r.ok and "LLM 端点无法连接 / LLM endpoint unreachable" in r.error for r in results), mode
        assert not any("no instructor mode" in r.error for r in results)
        assert asked <= 3 + 4  # a few requests already in flight when it was marked down; never one per form
    with pytest.raises(EndpointDown, match="connection refused at http://127.0.0.1:"):
        get_backend("llm", settings(refused_url(), tmp_path, mode="tools")).extract(segment(ingest(SEEDS[0]))[0])


@pytest.mark.slow
def test_the_cli_with_the_endpoint_refusing_names_the_cause_once_and_loses_no_form(tmp_path):
    url = refused_url()
    env = {**os.environ, "OPENAI_BASE_URL": url, "JIXIAO_MODEL": "fake-model", "JIXIAO_CACHE": str(tmp_path / "c")}
    run = _jixiao("run", *map(str, SEEDS), "--out", str(tmp_path / "out"), env=env)  # hybrid: the default
    rules = _jixiao("run", *map(str, SEEDS), "--out", str(tmp_path / "rules"), "--backend", "rules", env=env)
    assert run.returncode == rules.returncode == 0, run.stderr
    assert run.stderr.count(f"connection refused at {url}") == 1
    assert "no instructor mode" not in run.stderr
    with sqlite3.connect(tmp_path / "out" / "jixiao.sqlite") as db, \
            sqlite3.connect(tmp_path / "rules" / "jixiao.sqlite") as plain:
        count = "SELECT COUNT(*) FROM forms"
        assert db.execute(count).fetchone() == plain.execute(count).fetchone() == (21,)
        statuses = "SELECT status, COUNT(*) FROM documents GROUP BY status"
        assert db.execute(statuses).fetchall() == plain.execute(statuses).fetchall() == [("done", 4)]


def _sent(caplog) -> int:
    """HTTP requests the openai client sent (its own DEBUG record of each)."""
    return sum(r.name.startswith("openai") and r.getMessage().startswith("Sending HTTP Request") for r in caplog.records)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["auto", "tools"])
def test_a_hung_endpoint_is_marked_down_after_three_requests_without_an_answer(every_log, tmp_path, mode):
    with SilentServer() as hung:  # accepts every connection, never answers
        llm = get_backend("llm", settings(hung.base_url, tmp_path, mode=mode, timeout=0.3))
        results = list(extract_paths(SEEDS, llm, concurrency=4))
        connections = hung.accepts
    assert all(not r.ok and "LLM endpoint unreachable" in r.error and "connected, no answer within 0.3 s" in r.error
               for r in results), [r.error for r in results]
    # three requests with no answer mark it down; a few more were already in flight (one per
    # worker); never four probes, or five attempts, per document
    assert 3 <= _sent(every_log) <= 3 + 4 and connections <= 3 + 4
    assert sum("LLM endpoint unreachable" in r.getMessage() for r in every_log.records if r.name == "jixiao") == 1


@pytest.mark.slow
def test_hybrid_with_a_hung_endpoint_keeps_every_rules_reading(every_log, tmp_path):
    rules = list(extract_paths(SEEDS, "rules"))
    with SilentServer() as hung:
        results = list(extract_paths(SEEDS, get_backend("hybrid", settings(hung.base_url, tmp_path, timeout=0.3))))
        connections = hung.accepts
    assert all(r.ok for r in results) and len(_by_form(results)) == len(_by_form(rules))
    assert any(n.code == "llm_unavailable" for _, _, f in _by_form(results) for n in f.notes)
    assert connections == 3 == _sent(every_log)  # the mode probes of the first form in doubt, one by one


@pytest.mark.slow
def test_a_firewalled_endpoint_connect_timeouts_count_like_refusals(every_log, tmp_path):
    with SilentServer(accepting=False) as walled:  # connections never made
        llm = get_backend("llm", settings(walled.base_url, tmp_path / "c", mode="tools", timeout=0.3))
        results = list(extract_paths(SEEDS, llm, concurrency=2))
    assert all(not r.ok and "connection timed out within 0.3 s" in r.error for r in results), [r.error for r in results]
    assert 3 <= _sent(every_log) <= 3 + 2


def test_mode_probe_rounds_failing_on_the_transport_mark_the_endpoint_down(every_log, tmp_path):
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(*[Fault(502)] * 100)  # a proxy whose upstream is gone: every request a 502
        llm = get_backend("llm", settings(server.base_url, tmp_path, transport_retries=0))
        results = list(extract_paths(SEEDS, llm))
        sent = server.completions
    assert sent == 3 * 4  # three rounds of four probes, then marked down: no fourth round
    assert all(not r.ok for r in results)
    assert "every mode probe failed on the transport" in results[-1].error
    assert "LLM endpoint unreachable" in results[-1].error and "no instructor mode" not in results[-1].error


def test_an_endpoint_that_answers_in_no_mode_is_probed_once_a_run(tmp_path):
    with FakeOpenAI(lambda body: {"kind": "probe"}) as server:  # never the record asked for
        llm = get_backend("llm", settings(server.base_url, tmp_path))
        results = list(extract_paths(SEEDS[:2], llm))
        assert server.completions == 4  # one probe per mode, for the whole run
    assert all("no instructor mode" in r.error and "unreachable" not in r.error for r in results)


def test_the_breaker_marks_the_endpoint_down_for_a_cool_down_then_tries_once_more():
    now = [0.0]
    breaker = Breaker(threshold=3, cooldown=60.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.failed("down")
    breaker.check()  # two in a row: still up
    breaker.failed("down")
    with pytest.raises(EndpointDown, match="down"):
        breaker.check()
    now[0] = 61.0
    breaker.check()  # the cool-down passed: one request may try
    breaker.failed("down")
    assert breaker.down == "down"  # one failure more marks it down again
    now[0] = 200.0
    breaker.succeeded()
    breaker.failed("down")
    assert breaker.down is None  # it answered: the count starts again


def test_the_fake_server_leaves_the_stdlib_server_class_alone():
    # Its larger backlog is its own: other servers in the process keep the stdlib's.
    from http.server import ThreadingHTTPServer

    before = ThreadingHTTPServer.request_queue_size
    with FakeOpenAI(lambda body: {}) as server:
        assert server._server.request_queue_size == 256
    assert ThreadingHTTPServer.request_queue_size == before == 5
