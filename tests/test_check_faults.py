"""A check that fails on data it did not foresee (grounding on the LLM path, a rule, the
confidence work) leaves the form's record saying which check failed and why (bilingual, the
exception's type, no key, no prompt), the form kept and sent to review, the batch going on and
the exit status saying so. No real answer that passes the schema was found to crash grounding
(odd figures, odd strings, duplicate or missing rows), so a jixiao function is made to raise."""

from __future__ import annotations

import json

import pytest

from conftest import GOLD, RAW, run_cli
from fakeserver import FakeOpenAI, gold_answerer
from jixiao import extract_document
from jixiao.backends import grounding
from jixiao.eval_runs import load_gold as load_gold_dir
from jixiao.schema import CHECK_FAILED

GOLD_FORMS = [f.model_dump(mode="json") for g in load_gold_dir(GOLD) for f in g.forms]
DOC = RAW / "004_eec2255c4764dfed.txt"  # nine forms
KEY = "sk-live-TOPSECRET0123456789"
BROKEN = "社区党校"


def _failed_checks(form: dict) -> list[dict]:
    return [n for n in form["notes"] if n["code"] == CHECK_FAILED]


def test_a_crash_inside_grounding_names_the_check_and_keeps_the_form(tmp_path, monkeypatch):
    real = grounding.Grounding._find_misplaced

    def crashing(self, form):
        if form.project_name == BROKEN:  # one form's answer: the others are checked as always
            raise IndexError(f"list index out of range {KEY} " + self.text)
        return real(self, form)

    monkeypatch.setattr(grounding.Grounding, "_find_misplaced", crashing)
    out = tmp_path / "out.jsonl"
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": KEY, "JIXIAO_MODEL": "fake-model",
               "JIXIAO_CACHE": str(tmp_path / "cache")}
        done = run_cli(["extract", str(DOC), "--backend", "llm", "--mode", "tools", "--workers", "1",
                        "-o", str(out)], env)
    forms = json.loads(out.read_text(encoding="utf-8"))["forms"]
    assert len(forms) == 9 and not any(f["error"] for f in forms)  # the batch went on, no form lost
    broken = [f for f in forms if f["project_name"] == BROKEN]
    assert len(broken) == 1
    form = broken[0]
    assert form["funds"]["total"]["annual_budget"] is not None  # the answer paid for is kept
    assert form["route"]["decision"] == "needs_review"
    (note,) = _failed_checks(form)
    zh, en = note["message"].split(" / ", 1)
    assert "检查出错" in zh and "grounding check failed" in en and "IndexError" in en
    assert len(note["message"]) < 400  # the reason, not the form's text
    assert any(CHECK_FAILED in r for r in form["route"]["reasons"])
    assert not any(_failed_checks(f) for f in forms if f is not form)
    assert done.returncode == 1 and "check failed" in done.stderr and BROKEN in done.stderr
    assert KEY not in out.read_text(encoding="utf-8") and KEY not in done.stderr + done.stdout


@pytest.mark.parametrize("stage", ["validate", "score"])
def test_a_check_that_fails_in_the_pipeline_keeps_every_form_to_review(monkeypatch, stage):
    def crashing(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(f"jixiao.check.{stage}", crashing)
    record = extract_document(DOC)
    assert len(record.forms) == 9 and all(f.project_name for f in record.forms)
    for form in record.forms:
        assert form.route.decision == "needs_review"
        (note,) = [n for n in form.notes if n.code == CHECK_FAILED]
        assert "ZeroDivisionError" in note.message


def test_a_rule_that_fails_sends_the_form_to_review(monkeypatch):
    from jixiao import validate as rules

    def broken_rule(values):
        raise KeyError("funds")

    monkeypatch.setitem(rules.RULES, "self_evaluation", (*rules.RULES["self_evaluation"], broken_rule))
    form = extract_document(RAW / "002_0bebddbd16c8cbfb.txt").forms[1]  # accepted as printed
    assert form.route.decision == "needs_review"
    assert any(r.startswith("INTERNAL") and "broken_rule" in r and "KeyError" in r for r in form.route.reasons)


def test_a_batch_run_says_a_check_failed_and_keeps_the_forms(tmp_path, monkeypatch):
    from jixiao.batch import run_batch

    def crashing(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr("jixiao.check.score", crashing)
    summary = run_batch([RAW / "002_0bebddbd16c8cbfb.txt"], tmp_path / "out")
    assert summary.forms == summary.needs_review == summary.failed_checks == 7 and summary.failed_forms == 0
    assert not summary.ok  # `jixiao run` exits 1
    assert sum("confidence check failed" in m and "ZeroDivisionError" in m for m in summary.messages) == 7


def test_a_crash_of_the_rules_reader_the_llm_is_checked_against_names_itself(tmp_path, monkeypatch):
    # The LLM's answer is checked against the rules reader's reading. A reader that cannot read
    # a form (a named ExtractionFailed) leaves nothing to check against; one that crashes must
    # say so on the form and send it to review, not pass as "nothing to check against".
    from jixiao.backends import get_backend
    from jixiao.backends.rules import RulesBackend
    from jixiao.config import LLMSettings
    from jixiao.errors import ExtractionFailed

    real = RulesBackend.extract
    unreadable = "社区自治管理"  # a seed 001 form

    def reading(self, chunk):
        if BROKEN in chunk.text:
            raise IndexError(f"list index out of range {KEY}")
        if unreadable in chunk.text:
            raise ExtractionFailed("no table of the template")
        return real(self, chunk)

    monkeypatch.setattr(RulesBackend, "extract", reading)
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as server:
        llm = get_backend("llm", LLMSettings(base_url=server.base_url, model="fake-model", mode="tools", api_key=KEY,
                                             cache_dir=tmp_path / "cache"))
        forms = [*extract_document(DOC, llm).forms, *extract_document(RAW / "001_ec90f154ecebac5e.txt", llm).forms]
    assert not any(f.error for f in forms)
    broken = [f for f in forms if f.project_name == BROKEN]
    assert len(broken) == 1 and broken[0].route.decision == "needs_review"
    (note,) = [n for n in broken[0].notes if n.code == CHECK_FAILED]
    zh, en = note.message.split(" / ", 1)
    assert "规则读取" in zh and "rules check failed" in en and "IndexError" in en and KEY not in note.message
    assert any(CHECK_FAILED in r for r in broken[0].route.reasons)
    # the form the rules reader cannot read, and every other form: no check failed
    assert any(f.project_name == unreadable for f in forms)
    assert not any(n.code == CHECK_FAILED for f in forms if f is not broken[0] for n in f.notes)
