"""Provider batch jobs (`--batch-api`) through the real openai client against the loopback
server's files and batches endpoints: one submission polled to its end, answers parsed and
checked as live ones, a follow-up round, a killed run that resumes by polling, and jobs that
fail or expire reported by name."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import GOLD, RAW, run_cli
from fakeserver import BatchPlan, Fault, FakeOpenAI, gold_answerer, prompt_text
from jixiao.backends import get_backend
from jixiao.batch import run_batch
from jixiao.config import LLMSettings
from jixiao.evaluate import evaluate
from jixiao.eval_runs import load_gold as load_gold_dir
from jixiao.store import DB_NAME, Store

GOLD_DOCS = load_gold_dir(GOLD)
GOLD_FORMS = [f.model_dump(mode="json") for g in GOLD_DOCS for f in g.forms]
DOC = RAW / "004_eec2255c4764dfed.txt"  # nine forms


@pytest.fixture(autouse=True)
def _quick_polls(monkeypatch):
    monkeypatch.setenv("JIXIAO_BATCH_POLL", "0.01")


@pytest.fixture
def server():
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as s:
        yield s


def llm(server, **settings):
    return get_backend("llm", LLMSettings(**{"base_url": server.base_url, "model": "fake-model", "mode": "tools",
                                             "cache_dir": None, **settings}))


def records(out):
    store = Store(out)
    try:
        return list(store.records())
    finally:
        store.close()


def forms_of(out):
    db = sqlite3.connect(out / DB_NAME)
    try:
        return [json.loads(r) for (r,) in db.execute("SELECT record FROM forms ORDER BY document_id, form_index")]
    finally:
        db.close()


def jobs(out):
    db = sqlite3.connect(out / DB_NAME)
    try:
        return db.execute("SELECT id, round, status, collected FROM batch_jobs ORDER BY rowid").fetchall()
    finally:
        db.close()


@pytest.mark.slow
def test_the_forms_go_as_one_job_polled_to_its_end_and_read_as_live_answers(server, tmp_path):
    server.plan(BatchPlan(polls=3))
    seen = []
    backend = llm(server)
    summary = run_batch([RAW], tmp_path / "out", backend, batch_api=True, batch_progress=lambda *a: seen.append(a))
    assert server.submissions == 1 and server.completions == 0 and len(server.batch_lines) == 21
    assert server.batch_polls == 4 and [s[1] for s in seen] == ["in_progress"] * 3 + ["completed"]
    batch = server.batches["batch_1"]
    assert (batch["endpoint"], batch["completion_window"]) == ("/v1/chat/completions", "24h")
    line = server.batch_lines[0]
    assert (line["method"], line["url"], line["body"]["model"]) == ("POST", "/v1/chat/completions", "fake-model")
    assert line["body"]["tools"][0]["function"]["name"]  # instructor's tools-mode request, as sent live
    assert len({l["custom_id"] for l in server.batch_lines}) == 21
    assert summary.done == 4 and summary.failed_forms == 0
    report = evaluate(GOLD_DOCS, records(tmp_path / "out"))
    assert report.overall >= 0.995 and report.row_recall == 1.0
    usage = forms_of(tmp_path / "out")[0]["usage"]
    assert usage["requests"] == 1 and usage["batch_prompt_tokens"] == usage["prompt_tokens"] > 0
    assert jobs(tmp_path / "out") == [("batch_1", 1, "completed", 1)]
    assert backend.totals.batch_completion_tokens == backend.totals.completion_tokens > 0


def _slipping(target: str):
    """The gold answerer, but the first answer for `target`'s form has its executed total
    changed (a digit swapped: a value the source does not print)."""
    gold, slipped = gold_answerer(GOLD_FORMS), []

    def answer(body):
        form = gold(body)
        if form.get("project_name") == target and not slipped:
            slipped.append(True)
            form = copy.deepcopy(form)
            form["funds"]["total"]["executed"] = 23.03
        return form
    return answer


@pytest.mark.slow
@pytest.mark.parametrize("followup", ["batch", "live"])
def test_an_answer_the_source_does_not_bear_out_gets_the_live_paths_follow_up(tmp_path, followup):
    with FakeOpenAI(_slipping("综合党委经费")) as server:
        run_batch([DOC], tmp_path / "out", llm(server), batch_api=True, batch_followup=followup)
        if followup == "batch":
            assert server.submissions == 2 and server.completions == 0
            question = server.batch_lines[-1]["body"]["messages"]
        else:
            assert server.submissions == 1 and server.completions == 1
            question = server.requests[-1]["messages"]
    assert "funds.total.executed" in question[-1]["content"] and "20.33" in question[-1]["content"]
    form = next(f for f in forms_of(tmp_path / "out") if f["project_name"] == "综合党委经费")
    assert form["funds"]["total"]["executed"] == 20.33 and form["usage"]["reasked"] == ["funds.total.executed"]
    assert form["usage"]["requests"] == 2


@pytest.mark.slow
def test_an_answer_that_breaks_the_schema_gets_instructors_reask_in_a_second_job(server, tmp_path):
    server.then(Fault(content='{"kind": "self_evaluation", "indicators": "not a list"}'))  # the first line's answer
    summary = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True)
    assert server.submissions == 2 and len(server.batch_lines) == 10 and server.completions == 0
    reask = server.batch_lines[-1]["body"]["messages"]
    assert "not a list" in json.dumps(reask, ensure_ascii=False)  # the broken answer, quoted back with its errors
    assert summary.failed_forms == 0 and summary.done == 1


@pytest.mark.slow
def test_a_request_that_failed_inside_the_job_is_asked_again_and_the_rest_kept(server, tmp_path):
    server.plan(BatchPlan(errors=(2,)))
    summary = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True)
    assert server.submissions == 2 and len(server.batch_lines) == 10
    assert server.batch_lines[-1]["body"]["messages"] == server.batch_lines[2]["body"]["messages"]
    assert summary.failed_forms == 0


@pytest.mark.slow
def test_an_expired_job_is_named_its_answers_kept_and_the_rest_sent_once_on_retry(server, tmp_path):
    server.plan(BatchPlan(polls=1, end="expired", done=4))
    summary = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True)
    told = "\n".join(summary.messages)
    assert "batch job batch_1 expired" in told and "批量任务 batch_1 已过期" in told and "--retry-failed" in told
    assert summary.failed_forms == 5
    assert sum(not f["error"] for f in forms_of(tmp_path / "out")) == 4
    assert sum(f["usage"]["requests"] for f in forms_of(tmp_path / "out")) == 4  # the five never run cost nothing
    again = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True, retry_failed=True)
    assert server.submissions == 2 and len(server.batch_lines) == 9 + 5  # the four answered are not paid twice
    assert again.failed_forms == 0 and all(not f["error"] for f in forms_of(tmp_path / "out"))


def test_a_failed_job_is_named_with_the_providers_reason(server, tmp_path):
    server.plan(BatchPlan(end="failed"))
    summary = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True)
    told = "\n".join(summary.messages)
    assert "batch job batch_1 failed" in told and "invalid_request" in told and "批量任务 batch_1 失败" in told
    assert summary.failed_forms == 9 and server.completions == 0
    assert jobs(tmp_path / "out") == [("batch_1", 1, "failed", 1)]


def test_batch_api_needs_the_llm_back_end_and_says_so_before_reading(server, tmp_path):
    from jixiao.errors import ConfigError
    with pytest.raises(ConfigError, match="--backend llm"):
        run_batch([DOC], tmp_path / "out", "rules", batch_api=True)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_run_killed_after_submitting_polls_its_job_again_and_never_submits_twice(server, tmp_path):
    server.plan(BatchPlan(polls=10**9))  # in progress until the test lets it end
    out = tmp_path / "out"
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test", "JIXIAO_MODEL": "fake-model",
           "JIXIAO_BATCH_POLL": "0.05", "JIXIAO_CONFIG": str(tmp_path / "jixiao.toml")}
    (tmp_path / "jixiao.toml").write_text('[prices."fake-model"]\ninput = 2.0\noutput = 8.0\nbatch = 0.5\n',
                                          encoding="utf-8")
    cmd = [sys.executable, "-m", "jixiao", "run", str(DOC), "--out", str(out), "--backend", "llm", "--mode", "tools",
           "--batch-api", "--no-cache"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (server.batch_polls >= 2 and (out / DB_NAME).exists() and jobs(out)):
            time.sleep(0.05)
        assert jobs(out) and jobs(out)[0][2] == "in_progress"
    finally:
        first.kill()
        first.wait()
    server.batches["batch_1"]["_plan"] = BatchPlan()  # the provider finishes it meanwhile
    second = run_cli(cmd[3:], env)  # the same command again, in this process (a second interpreter's start-up spared)
    assert second.returncode == 0, second.stderr
    assert server.submissions == 1 and len(server.batch_lines) == 9 and server.completions == 0
    assert len(forms_of(out)) == 9 and all(not f["error"] for f in forms_of(out))
    prompt = sum(f["usage"]["batch_prompt_tokens"] for f in forms_of(out))
    completion = sum(f["usage"]["batch_completion_tokens"] for f in forms_of(out))
    assert f"(batch job: {prompt} + {completion} at 0.5× the price)" in second.stderr
    printed = float(second.stderr.split("估计费用 ")[1].split()[0])
    assert printed == pytest.approx(0.5 * (prompt * 2.0 + completion * 8.0) / 1e6, abs=1e-4)


class _Killed(BaseException):
    """The run killed at that moment."""


def _kill(*args, **kwargs):
    raise _Killed


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["after the provider created the job", "before the job was created"])
def test_a_run_killed_while_submitting_finds_its_job_by_token_or_submits_once(server, tmp_path, monkeypatch, moment):
    from jixiao.backends.batchjob import BatchReader

    with monkeypatch.context() as m:
        if moment == "after the provider created the job":
            m.setattr(Store, "batch_created", _kill)  # created, but the store never learnt its id
        else:
            m.setattr(BatchReader, "_create", _kill)  # the file uploaded, the job never created
        with pytest.raises(_Killed):
            run_batch([DOC], tmp_path / "out", llm(server), batch_api=True)
    assert [j[2] for j in jobs(tmp_path / "out")] == ["submitting"]
    summary = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True)
    assert server.submissions == 1 and len(server.batch_lines) == 9 and summary.failed_forms == 0
    assert jobs(tmp_path / "out") == [("batch_1", 1, "completed", 1)]


def test_max_cost_leaves_out_of_a_job_the_forms_it_cannot_pay_for(server, tmp_path):
    # Answers cost 0.0005 a token at the batch price, prompts next to nothing: a form's answer
    # (~1,400 tokens here) costs ~0.7, one of --max-output-tokens at most 2.0. A job cannot be
    # stopped half way: only the forms whose worst case fits are sent, and the job's cost
    # stays within the budget (priced by prompts alone, all nine went and cost ~6.2).
    backend = llm(server, max_cost=4.5, max_output_tokens=4000,
                  prices={"fake-model": {"input": 1.0, "output": 1000.0, "batch": 0.5}})
    summary = run_batch([DOC], tmp_path / "out", backend, batch_api=True)
    sent = len(server.batch_lines)
    assert server.submissions == 1 and sent == 2 and server.completions == 0
    assert 0 < backend.price.of(backend.totals) <= 4.5
    left = [f for f in forms_of(tmp_path / "out") if f["error"]]
    assert len(left) == 9 - sent and all("--max-cost" in f["error"] and "预算" in f["error"] for f in left)
    assert summary.failed_forms == 9 - sent


@pytest.mark.slow
def test_a_form_in_two_documents_is_asked_once_in_the_job_and_never_live(server, tmp_path):
    # Without the answer cache (cache_dir None) the second document's copy of a form must take
    # the job's answer too, not go live at full price; and its tokens are not counted twice.
    folder = tmp_path / "in"
    folder.mkdir()
    text = DOC.read_text(encoding="utf-8")
    (folder / "a.txt").write_text(text, encoding="utf-8")
    (folder / "b.txt").write_text(text + "\n附注\n", encoding="utf-8")  # another document, the same forms
    backend = llm(server)
    summary = run_batch([folder], tmp_path / "out", backend, batch_api=True)
    assert summary.done == 2 and summary.failed_forms == 0
    assert server.completions == 0 and server.submissions == 1
    asked = {line["custom_id"] for line in server.batch_lines}
    assert len(server.batch_lines) == len(asked)
    billed = sum(f["usage"]["prompt_tokens"] for f in forms_of(tmp_path / "out"))
    assert billed == backend.totals.prompt_tokens == backend.totals.batch_prompt_tokens > 0


@pytest.mark.slow
def test_a_job_the_provider_no_longer_knows_is_named_and_leaves_the_store_usable(server, tmp_path):
    server.plan(BatchPlan(polls=10**9))
    out = tmp_path / "out"

    def killed_while_polling(*args):
        raise _Killed

    with pytest.raises(_Killed):
        run_batch([DOC], out, llm(server), batch_api=True, batch_progress=killed_while_polling)
    server.batches.clear()  # deleted at the provider (or the key now belongs to another project)
    summary = run_batch([DOC], out, llm(server), batch_api=True)
    told = "\n".join(summary.messages)
    assert "batch job batch_1 is not known to the provider" in told and "批量任务 batch_1 在服务商处找不到" in told
    assert "--retry-failed" in told and summary.failed_forms == 9
    assert server.submissions == 0 and server.completions == 0  # not sent again unasked
    assert jobs(out) == [("batch_1", 1, "not_found", 1)]
    again = run_batch([DOC], out, llm(server), batch_api=True, retry_failed=True)
    assert again.failed_forms == 0 and server.submissions == 1 and len(server.batch_lines) == 9 + 9
    assert jobs(out) == [("batch_1", 1, "not_found", 1), ("batch_2", 1, "completed", 1)]


@pytest.mark.slow
def test_a_run_to_another_output_folder_polls_the_job_of_the_same_requests_and_never_submits_twice(server, tmp_path):
    server.plan(BatchPlan(polls=10**9))

    def killed_while_polling(*args):
        raise _Killed

    with pytest.raises(_Killed):
        run_batch([DOC], tmp_path / "one", llm(server), batch_api=True, batch_progress=killed_while_polling)
    server.batches["batch_1"]["_plan"] = BatchPlan()  # the provider finishes it meanwhile
    summary = run_batch([DOC], tmp_path / "two", llm(server), batch_api=True)  # the user changed --out
    assert server.submissions == 1 and server.completions == 0 and summary.failed_forms == 0
    assert "batch job batch_1 already holds these very requests" in "\n".join(summary.messages)
    assert jobs(tmp_path / "two") == [("batch_1", 1, "completed", 1)]
    assert len(forms_of(tmp_path / "two")) == 9
    server.batches["batch_1"]["status"] = "expired"  # a job that ended badly is never taken for this one
    run_batch([DOC], tmp_path / "three", llm(server), batch_api=True)
    assert server.submissions == 2 and jobs(tmp_path / "three") == [("batch_2", 1, "completed", 1)]


@pytest.mark.slow
def test_an_endpoint_without_a_batch_api_stops_the_run_by_name_never_showing_the_key(server, tmp_path):
    # A proxy that echoes the request's Authorization in its refusal, as some do.
    server.batch_refusal = Fault(status=404, echo_auth=True)
    secret = "sk-batch-secret-0123456789abcdef"
    from jixiao.errors import BackendUnavailable
    with pytest.raises(BackendUnavailable) as refused:
        run_batch([DOC], tmp_path / "out", llm(server, api_key=secret), batch_api=True)
    told = str(refused.value)
    assert "batch API" in told and "批量任务接口出错" in told and "--batch-api" in told and "404" in told
    assert secret not in told and secret[8:] not in told
    assert server.completions == 0 and jobs(tmp_path / "out") == []  # nothing read live, no job left half recorded
    server.batch_refusal = None
    assert run_batch([DOC], tmp_path / "out", llm(server), batch_api=True).failed_forms == 0 and server.submissions == 1


@pytest.mark.slow
def test_answers_that_broke_the_schema_twice_are_asked_afresh_on_retry(server, tmp_path):
    broken = Fault(content='{"kind": "self_evaluation", "indicators": "not a list"}')
    server.then(broken, *[None] * 8, broken)  # the first form's answer, then its re-ask in the second job
    summary = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True)
    assert server.submissions == 2 and summary.failed_forms == 1
    again = run_batch([DOC], tmp_path / "out", llm(server), batch_api=True, retry_failed=True)
    assert again.failed_forms == 0 and server.submissions == 3 and len(server.batch_lines) == 9 + 1 + 1
    assert all(not f["error"] for f in forms_of(tmp_path / "out"))


def test_credentials_in_the_endpoint_url_never_reach_the_store(server, tmp_path):
    secret = "pw-in-the-url-0123456789"
    run_batch([DOC], tmp_path / "out", llm(server, base_url=server.base_url.replace("//", f"//user:{secret}@")),
              batch_api=True)
    assert server.submissions == 1 and len(forms_of(tmp_path / "out")) == 9
    db = sqlite3.connect(tmp_path / "out" / DB_NAME)
    try:
        dump = "\n".join(db.iterdump())
    finally:
        db.close()
    assert "127.0.0.1" in dump and secret not in dump
