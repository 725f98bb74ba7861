"""The cost a run prints, from the price table and the config's [prices], and --max-cost,
through the real openai client against the loopback server."""

from __future__ import annotations

import json
import re

import pytest

from conftest import GOLD, RAW, run_cli
from fakeserver import FakeOpenAI, gold_answerer
from jixiao.cost import Price, price_for
from jixiao.eval_runs import load_gold as load_gold_dir
from jixiao.schema import Usage

GOLD_FORMS = [f.model_dump(mode="json") for g in load_gold_dir(GOLD) for f in g.forms]
DOC = RAW / "004_eec2255c4764dfed.txt"  # nine forms


@pytest.fixture
def server():
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as s:
        yield s


def _env(server, tmp_path, prices: str = "") -> dict:
    config = tmp_path / "jixiao.toml"
    config.write_text(prices, encoding="utf-8")
    return {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test", "JIXIAO_MODEL": "fake-model",
            "JIXIAO_CACHE": str(tmp_path / "cache"), "JIXIAO_CONFIG": str(config)}


def _extract(env, tmp_path, *extra):
    out = tmp_path / "out.jsonl"
    done = run_cli(["extract", str(DOC), "--backend", "llm", "--mode", "tools", "-o", str(out), *extra], env)
    forms = [f for line in out.read_text(encoding="utf-8").splitlines() for f in json.loads(line)["forms"]]
    return done, forms


PRICES = '[prices."fake-model"]\ninput = 2.0\noutput = 8.0\ncurrency = "CNY"\n'


@pytest.mark.slow
def test_a_run_prints_its_cost_from_the_configured_price_and_a_rerun_costs_nothing(server, tmp_path):
    env = _env(server, tmp_path, PRICES)
    done, forms = _extract(env, tmp_path)
    assert done.returncode == 0, done.stderr
    prompt = sum(f["usage"]["prompt_tokens"] for f in forms)
    completion = sum(f["usage"]["completion_tokens"] for f in forms)
    assert prompt > 0 and completion > 0
    printed = float(re.search(r"估计费用 ([0-9.]+) CNY", done.stderr).group(1))
    assert printed == pytest.approx((prompt * 2.0 + completion * 8.0) / 1e6, abs=1e-4)
    again, _ = _extract(env, tmp_path)  # every answer from the cache: no request, no cost
    assert "cache hits 9/9 forms" in again.stderr and "估计费用 0.0000 CNY" in again.stderr


def test_max_cost_stops_new_requests_cleanly(server, tmp_path):
    # One form's request costs more than a millionth of the budget's worth: the first spends it.
    env = _env(server, tmp_path, '[prices."fake-model"]\ninput = 1000.0\noutput = 1000.0\n')
    done, forms = _extract(env, tmp_path, "--max-cost", "0.5", "--concurrency", "1")
    assert server.completions == 1
    assert not forms[0]["error"]
    assert all("cost budget" in f["error"] and "--max-cost" in f["error"] for f in forms[1:])
    assert done.returncode == 1


def test_max_cost_without_a_price_is_a_clear_usage_error(server, tmp_path):
    done = run_cli(["extract", str(DOC), "--backend", "llm", "--max-cost", "1"], _env(server, tmp_path))
    assert done.returncode == 2 and "[prices" in done.stderr and "fake-model" in done.stderr
    assert server.completions == 0


def test_prices_by_provider_host_overridden_by_the_config():
    qwen = price_for("https://dashscope.aliyuncs.com/compatible-mode/v1", "qwen-plus")
    assert qwen.currency == "CNY" and qwen.batch == 0.5
    assert price_for("https://api.openai.com/v1", "no-such-model") is None
    mine = price_for("https://dashscope.aliyuncs.com/compatible-mode/v1", "qwen-plus",
                     {"dashscope/qwen-plus": {"input": 1.0, "output": 3.0, "currency": "CNY"}})
    assert (mine.input, mine.output) == (1.0, 3.0)


def test_batch_tokens_cost_the_discounted_price():
    price = Price(input=2.0, output=8.0, batch=0.5)
    live = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000)
    half_batch = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, batch_prompt_tokens=500_000,
                       batch_completion_tokens=500_000)
    assert price.of(live) == pytest.approx(10.0)
    assert price.of(half_batch) == pytest.approx(7.5)


def test_a_price_is_in_the_currency_its_provider_bills_in():
    beijing, singapore = "https://dashscope.aliyuncs.com/compatible-mode/v1", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    assert price_for(beijing, "qwen-plus").currency == "CNY"
    intl = price_for(singapore, "qwen-plus")  # Model Studio international bills in dollars, at its own prices
    assert intl.currency == "USD" and (intl.input, intl.output) != (price_for(beijing, "qwen-plus").input,
                                                                     price_for(beijing, "qwen-plus").output)
    # An override that gives only the new prices keeps the provider's currency and batch share.
    mine = price_for(beijing, "qwen-plus", {"qwen-plus": {"input": 1.0, "output": 3.0}})
    assert (mine.input, mine.currency, mine.batch) == (1.0, "CNY", 0.5)
    none = price_for("https://api.deepseek.com", "deepseek-chat", {"deepseek-chat": {"input": 2.0, "output": 3.0}})
    assert (none.currency, none.batch) == ("CNY", 1.0)
    assert price_for("http://127.0.0.1:8000/v1", "local", {"local": {"input": 0.0, "output": 0.0}}).currency == "USD"
