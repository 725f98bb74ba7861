"""Failure paths a reviewer found: each pins behaviour that once lost work or leaked."""

from __future__ import annotations

import json
import time

import pytest

from conftest import RAW, SEEDS
from fakeserver import Fault, FakeOpenAI, gold_answerer
from jixiao import extract_text
from jixiao.backends import get_backend
from jixiao.backends.support import RateLimiter
from jixiao.batch import run_batch
from jixiao.config import LLMSettings
from jixiao.schema import SelfEvaluation
from jixiao.store import Store
from jixiao.validate import validate
from test_llm import GOLD_FORMS, chunks


def settings(server, tmp_path, **kw):
    return LLMSettings(**{"base_url": server.base_url, "model": "fake-model", "mode": "tools", "timeout": 2.0,
                          "cache_dir": tmp_path / "cache", "transport_retries": 0, **kw})


@pytest.mark.slow
def test_a_document_whose_forms_failed_is_retried_when_asked(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / SEEDS[0].name).write_text(SEEDS[0].read_text(encoding="utf-8"), encoding="utf-8")
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(Fault(503), Fault(503))
        first = run_batch([docs], tmp_path / "out", get_backend("llm", settings(server, tmp_path)))
        assert first.failed_forms == 2 and not first.ok
        again = run_batch([docs], tmp_path / "out", get_backend("llm", settings(server, tmp_path)))
        assert again.failed == 1 and again.skipped == 1 and not again.ok  # not retried unless asked
        retried = run_batch([docs], tmp_path / "out", get_backend("llm", settings(server, tmp_path)), retry_failed=True)
        assert retried.ok and retried.done == 1
    store = Store(tmp_path / "out")
    (record,) = list(store.records())
    assert [f.project_name for f in record.forms] == ["党群综合服务", "社区自治管理"]


def test_hybrid_keeps_the_rules_reading_when_the_llm_fails(tmp_path):
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(*[Fault(503)] * 3)
        form = get_backend("hybrid", settings(server, tmp_path)).extract(chunks("001_ec90f154ecebac5e")[0])
    assert form.project_name == "党群综合服务" and len(form.indicators) == 41 and not form.error
    assert any(n.code == "llm_failed" for n in form.notes)


def test_a_failed_follow_up_keeps_the_first_answer_and_counts_its_cost(tmp_path):
    full = next(f for f in GOLD_FORMS if f["project_name"] == "图书综合经费")
    wrong = json.loads(json.dumps(full))
    wrong["funds"]["total"]["executed"] = 1569.51
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(Fault(content=json.dumps(wrong, ensure_ascii=False)), Fault(503))
        llm = get_backend("llm", settings(server, tmp_path))
        form = llm.extract(chunks("002_0bebddbd16c8cbfb")[0])
    assert len(form.indicators) == 16 and form.alternatives["funds.total.executed"]["llm"] == 1569.51
    # The first answer stood; the rules reader, sure of the figure its row prints, settles it (and routes it).
    assert form.funds.total.executed == 1596.51 and any(n.code == "disagreement" for n in form.notes)
    assert form.usage.requests == 2 and form.usage.reask_failed
    assert any(n.code == "reask_failed" for n in form.notes)
    assert llm.totals.requests == 2


def test_an_unusable_cache_is_a_lost_saving_not_a_lost_form(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        llm = get_backend("llm", settings(server, tmp_path, cache_dir=blocker, mode="auto"))
        form = llm.extract(chunks("001_ec90f154ecebac5e")[1])
    assert form.project_name == "社区自治管理" and not form.error


def test_a_key_echoed_by_the_server_is_redacted(tmp_path):
    secret = "sk-live-SECRET123456"
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(Fault(401, body=json.dumps({"error": {"message": f"Invalid API key: {secret}"}})))
        records = list(run_batch.__globals__["extract_paths"](
            [SEEDS[0]], get_backend("llm", settings(server, tmp_path, api_key=secret))))
    text = records[0].model_dump_json()
    assert "401" in text and "SECRET" not in text and "***" in text


@pytest.mark.slow
def test_rate_limits_cover_instructors_re_asks(tmp_path):
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        server.then(Fault(content=json.dumps({"kind": "self_evaluation", "year": "不是数字"})))
        llm = get_backend("llm", settings(server, tmp_path))
        llm.limiter = RateLimiter(requests_per_minute=1, tokens_per_minute=None, window=0.5)
        start = time.monotonic()
        llm.extract(chunks("001_ec90f154ecebac5e")[1])
    assert server.completions == 2 and time.monotonic() - start >= 0.45


def test_an_edited_file_supersedes_its_old_record(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    path = docs / "a.txt"
    text = SEEDS[1].read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    run_batch([docs], tmp_path / "out")
    path.write_text(text.replace("图书综合经费", "图书综合经费甲", 1), encoding="utf-8")
    run_batch([docs], tmp_path / "out")
    records = list(Store(tmp_path / "out").records())
    assert len(records) == 1 and records[0].forms[0].project_name == "图书综合经费甲"


def test_a_full_width_score_does_not_kill_the_form():
    text = (RAW / "001_ec90f154ecebac5e.txt").read_text(encoding="utf-8").replace("=10次 =8次 1 0", "=10次 =8次 1 －0", 1)
    form = extract_text(text).forms[0]
    assert not form.error and len(form.indicators) == 41


def test_an_overrun_on_the_total_row_is_flagged_when_the_score_is_blank():
    form = SelfEvaluation.model_validate({"funds": {"total": {"annual_budget": 100.0, "executed": 120.0,
                                                              "execution_rate": 120.0}}})
    assert any(f.code == "SE-F5" and "funds.total.executed" in f.fields for f in validate(form))
