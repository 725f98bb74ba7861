"""The back-end contract: every registered back-end (rules, and llm and hybrid against the
loopback server, tests/fakeserver.py) goes through the same checks. A back-end added to the
registry is checked here without a line more."""

from __future__ import annotations

import pytest

from conftest import GOLD, RAW, load_gold
from fakeserver import Fault, FakeOpenAI, gold_answerer
from jixiao.backends import REGISTRY, Backend, Recipe, get_backend
from jixiao.check import check_form
from jixiao.config import LLMSettings
from jixiao.errors import ExtractionFailed
from jixiao.eval_runs import load_gold as load_gold_dir
from jixiao.extract import extract_form
from jixiao.ingest import ingest
from jixiao.schema import RECORD_BY_KIND, Chunk, Span, Usage
from jixiao.segment import segment

pytestmark = pytest.mark.slow  # every test here takes seconds, or shares a fixture that does

GOLD_FORMS = [f.model_dump(mode="json") for g in load_gold_dir(GOLD) for f in g.forms]
SEED = "002_0bebddbd16c8cbfb"
# Text where no form can be read: a title and nothing of the template's table.
NOISE = "财政项目支出绩效自评表\n（2023年度）\n本页无内容 / nothing here\n"


@pytest.fixture
def server():
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as s:
        yield s


@pytest.fixture(params=sorted(REGISTRY))
def backend(request, server, tmp_path):
    settings = LLMSettings(base_url=server.base_url, model="fake-model", mode="tools", timeout=2.0, reasks=1,
                           transport_retries=0, cache_dir=tmp_path / "cache")
    return get_backend(request.param, settings)


def test_it_declares_what_callers_use(backend):
    declared = set(Backend.__annotations__)
    assert {"name", "model", "prompt_version", "price", "waits", "recipe", "totals"} <= declared
    for attribute in declared:
        assert hasattr(backend, attribute), f"{backend.name} lacks {attribute}"
    assert backend.recipe == Recipe(backend.name, backend.recipe.settings, True)
    assert isinstance(backend.waits, bool)
    # A back-end that asks a model names it and its prompts, and counts what it costs.
    asks = backend.model is not None
    assert (backend.prompt_version is not None) == asks and (backend.totals is not None) == asks
    assert backend.totals is None or isinstance(backend.totals, Usage)


def test_it_reads_a_seed_form_into_the_record_of_its_kind(backend, server):
    chunks = segment(ingest(RAW / f"{SEED}.txt"))
    gold = load_gold(SEED).forms
    for chunk, expected in zip(chunks, gold):
        form = extract_form(chunk, backend)
        assert type(form) is RECORD_BY_KIND[chunk.kind]
        assert form.backend == backend.name and form.project_name == expected.project_name
        assert len(form.indicators) == len(expected.indicators)
        # a form that names its prompt's version names the shared prompts' version too
        assert (form.shared_prompt_version is not None) == (form.prompt_version is not None)
    if backend.totals is not None:  # every request it sent is counted, none more
        assert backend.totals.requests == server.completions
        assert backend.totals.forms == sum(1 for r in server.requests if "messages" in r and not _probe(r))


def test_a_form_it_cannot_read_is_a_named_failure_or_goes_to_review(backend, server):
    # The model answers nothing of use either (schema-breaking, every time).
    server.then(*[Fault(content="{\"kind\": 12}")] * 20)
    chunk = Chunk(document="noise.txt", index=0, kind="self_evaluation", span=Span(start=0, end=len(NOISE)),
                  text=NOISE)
    try:
        form = extract_form(chunk, backend)
    except ExtractionFailed as exc:
        assert "noise.txt" in str(exc) and "form 1" in str(exc)
        return
    checked = check_form(form, NOISE)
    assert checked.route.decision == "needs_review", (backend.name, checked.route)


def _probe(request: dict) -> bool:
    return "JIXIAO-PROBE" in str(request.get("messages"))
