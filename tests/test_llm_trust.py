"""The LLM path against a fallible model (issue 14 items 1-2), through the real openai client
and instructor against the loopback server: slips are caught where they sit, re-asked quoting
their row, and no form holding one is routed `accepted`."""

from __future__ import annotations

import sys

import pytest

from conftest import GOLD, RAW, ROOT
from fakeserver import FakeOpenAI, FallibleModel, gold_answerer, prompt_text
from jixiao.backends import get_backend
from jixiao.config import LLMSettings
from jixiao.pipeline import extract_document
from jixiao.eval_runs import load_gold

sys.path.insert(0, str(ROOT / "benchmarks"))
from llm_trust import trust_run  # noqa: E402

GOLD_FORMS = [f.model_dump(mode="json") for g in load_gold(GOLD) for f in g.forms]
DOC = RAW / "004_eec2255c4764dfed.txt"
PROJECT = "区域人才服务经费"


def _backend(server, tmp_path, name="llm"):
    return get_backend(name, LLMSettings(base_url=server.base_url, model="fake-model", mode="tools", timeout=5.0,
                                         cache_dir=tmp_path / "cache"))


def _always(change, project=PROJECT):
    """A model that makes the same slip on every request for `project` (a re-ask does not help)."""
    answer = gold_answerer(GOLD_FORMS)

    def slipping(body: dict) -> dict:
        form = answer(body)
        if form.get("project_name") == project:
            form = {**form, "indicators": [dict(r) for r in form["indicators"]], "funds": dict(form["funds"])}
            change(form)
        return form
    return slipping


def _form(record, name=PROJECT):
    return next(f for f in record.forms if f.project_name == name)


@pytest.mark.slow
def test_a_label_printed_only_in_another_group_is_re_asked_quoting_its_row_and_never_accepted(tmp_path):
    def swap(form):  # the slip: 社会效益指标 answered as 生态效益指标, printed two rows down
        form["indicators"][5] = {**form["indicators"][5], "level2": "生态效益指标"}

    with FakeOpenAI(_always(swap)) as server:
        record = extract_document(DOC, _backend(server, tmp_path))
        reask = [prompt_text(r) for r in server.requests if "indicators[5].level2" in prompt_text(r)]
    form = _form(record)
    assert form.route.decision == "needs_review"
    assert any(n.code == "misplaced" and n.field == "indicators[5].level2" for n in form.notes)
    assert len(reask) == 1 and "人才调研课题完成率" in reask[0]  # the row is quoted
    assert server.completions == len(record.forms) + 1  # only that form was asked again
    assert all(f.route.decision == "accepted" for f in record.forms if f.project_name != PROJECT)


@pytest.mark.slow
def test_in_llm_mode_a_value_left_out_where_the_rules_reader_is_sure_is_filled_from_the_source_and_reviewed(tmp_path):
    def leave_out(form):
        form["funds"]["total"] = {**form["funds"]["total"], "executed": None}

    with FakeOpenAI(_always(leave_out)) as server:
        form = _form(extract_document(DOC, _backend(server, tmp_path)))
    assert form.funds.total.executed == 0  # printed 0 in its row; the rules reader is sure of it
    assert form.alternatives["funds.total.executed"]["chosen"] == "rules"
    assert form.route.decision == "needs_review"


@pytest.mark.slow
def test_a_slip_on_the_first_reading_is_corrected_by_the_re_ask(tmp_path):
    def digit(form):
        form["indicators"][0] = {**form["indicators"][0], "target": "完成率10%"}

    answer, asked = _always(digit), []

    def once(body):  # slips on the first request only, as FallibleModel does
        asked.append(body)
        return answer(body) if len(asked) == 1 else gold_answerer(GOLD_FORMS)(body)

    with FakeOpenAI(once) as server:
        chunk_doc = extract_document(DOC, _backend(server, tmp_path))
    assert server.completions == len(chunk_doc.forms) + 1
    form = _form(chunk_doc)
    assert form.indicators[0].target == "完成率100%" and form.route.decision == "accepted"


def test_the_fallible_model_slips_schema_valid_seeded_and_only_on_a_forms_first_request():
    body = {"messages": [{"role": "user", "content": f"请读取：项目名称 {PROJECT} ……"}]}
    first = FallibleModel(gold_answerer(GOLD_FORMS), rate=0.3, seed=7)
    again = FallibleModel(gold_answerer(GOLD_FORMS), rate=0.3, seed=7)
    slipped = first(body)
    assert slipped == again(body) and first.slips == again.slips  # seeded: the same slips
    assert slipped != gold_answerer(GOLD_FORMS)(body)
    assert {s.kind for s in first.slips} >= {"digit", "left_out", "row_dropped"}
    reask = {"messages": [*body["messages"], {"role": "user", "content": "re-read"}]}
    assert first(reask) == gold_answerer(GOLD_FORMS)(reask)  # a later request for the form: correct
    assert FallibleModel(gold_answerer(GOLD_FORMS), rate=0.3, seed=8)(body) != slipped


@pytest.mark.slow
def test_at_a_5_percent_slip_rate_no_form_with_a_wrong_field_is_accepted(tmp_path):
    for backend in ("llm", "hybrid"):
        run = trust_run(backend, 0.05, seed=0, cache_dir=tmp_path / backend)
        print(f"\n{backend}: slips {run.slips} accuracy {run.accuracy:.4f} accepted {run.accepted}/{run.forms} "
              f"(wrong {run.accepted_wrong}) requests/form {run.requests / run.forms:.2f}")
        assert run.slips > 20 and run.forms == 21
        assert run.accepted_wrong == 0
        assert run.accuracy >= 0.999
        assert run.accepted >= 17 if backend == "llm" else run.accepted >= 19
        assert run.requests / run.forms <= (2.2 if backend == "llm" else 0.4)


@pytest.mark.slow
def test_a_weight_and_score_or_a_target_and_actual_swapped_in_their_row_are_never_accepted(tmp_path):
    """Both values are printed in the row's line, so the line alone does not tell them apart:
    the cells the rules reader read them in do."""
    def swap(form):
        weight_score, target_actual = dict(form["indicators"][5]), dict(form["indicators"][7])
        weight_score["weight"], weight_score["score"] = weight_score["score"], weight_score["weight"]  # 15/14
        target_actual["target"], target_actual["actual"] = target_actual["actual"], target_actual["target"]
        form["indicators"][5], form["indicators"][7] = weight_score, target_actual

    with FakeOpenAI(_always(swap)) as server:
        form = _form(extract_document(DOC, _backend(server, tmp_path)))
    assert form.route.decision == "needs_review"
    assert {n.field for n in form.notes if n.code == "misplaced"} >= {
        "indicators[5].weight", "indicators[5].score", "indicators[7].target", "indicators[7].actual"}


@pytest.mark.slow
def test_a_budget_and_the_amount_spent_swapped_in_their_funds_row_are_never_accepted(tmp_path):
    """This form's printed rate (48%) is not its amounts' (20.33 / 44.32), so the rules reader is
    unsure of them and the checks of the figures against each other cannot settle them: the
    cells the rules reader read them in can."""
    def swap(form):
        total = form["funds"]["total"] = dict(form["funds"]["total"])
        total["annual_budget"], total["executed"] = total["executed"], total["annual_budget"]

    with FakeOpenAI(_always(swap, "综合党委经费")) as server:
        form = _form(extract_document(DOC, _backend(server, tmp_path)), "综合党委经费")
    assert form.funds.total.executed == 44.32  # the model's answer, as it insisted on it: for review
    assert form.route.decision == "needs_review"
    assert {n.field for n in form.notes if n.code == "misplaced"} >= {"funds.total.annual_budget",
                                                                      "funds.total.executed"}


def test_the_fallible_model_also_reads_cells_into_each_others_place():
    body = {"messages": [{"role": "user", "content": f"请读取：项目名称 {PROJECT} ……"}]}
    model = FallibleModel(gold_answerer(GOLD_FORMS), rate=0.5, seed=3)
    slipped, correct = model(body), gold_answerer(GOLD_FORMS)(body)
    swaps = [s for s in model.slips if s.kind == "cells_swapped"]
    assert swaps
    other_slips = {s.path for s in model.slips if s.kind != "cells_swapped"}
    assert any(not {s.path, s.path.rsplit(".", 1)[0]} & other_slips for s in swaps)
    for swap in swaps:  # the row's other cell's value, printed in the same row
        row, field = swap.path.rsplit(".", 1)
        other = f"{row}.{dict(_SWAPPABLE_PAIRS)[field]}"
        if not {swap.path, other, row} & other_slips:
            assert (swap.before, swap.after) == (_at(correct, swap.path), _at(correct, other))


_SWAPPABLE_PAIRS = [("target", "actual"), ("weight", "score"), ("annual_budget", "executed")]


def _at(form: dict, path: str):
    node = form
    for part in path.replace("]", "").replace("[", ".").split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node
