"""Few-shot examples from reviewed forms (`--examples DIR`): through the real openai client and
instructor against the loopback server (tests/fakeserver.py), the request carries the
chosen examples, the record names them, the answer cache follows them; and a bad folder is
named. Examples come from the seeds' hand-labelled gold beside the seeds' own chunk texts, in
the shape `jixiao review export-gold` writes (and, once, from export-gold itself)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import GOLD, RAW
from fakeserver import FORM_TEXT, FakeOpenAI, gold_answerer, prompt_text
from jixiao.backends import get_backend
from jixiao.backends.examples import load_examples
from jixiao.backends.support import estimated_tokens
from jixiao.batch import run_batch
from jixiao.config import LLMSettings, load_settings
from jixiao.errors import BadExamples, ConfigError
from jixiao.ingest import ingest
from jixiao.review import Review
from jixiao.eval_runs import load_gold
from jixiao.segment import segment

GOLD_FORMS = [f.model_dump(mode="json") for g in load_gold(GOLD) for f in g.forms]
STEMS = ("001_ec90f154ecebac5e", "002_0bebddbd16c8cbfb", "003_f9c598031c2c4aa2", "004_eec2255c4764dfed")
# One example as the prompt shows it: its text, then its record.
SHOWN = re.compile(r"Example (\d+) text / 示例\d+原文:\n<<<\n(.*?)\n>>>\nExample \d+ record / 示例\d+记录:\n(.*?)\n",
                   re.S)


def chunks(stem: str):
    return segment(ingest(RAW / f"{stem}.txt"))


def write_examples(folder, stems=STEMS, reviewed=True):
    """Gold files as export-gold writes them: the records, and beside them each form's text."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        gold = json.loads((GOLD / f"{stem}.json").read_text(encoding="utf-8"))
        gold["sources"] = [{"text": c.text, "reviewed": reviewed} for c in chunks(stem)]
        (folder / f"{stem}.json").write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def server():
    with FakeOpenAI(gold_answerer(GOLD_FORMS)) as s:  # it reads the form's text, not the examples'
        yield s


def backend(server, tmp_path, **settings):
    base = dict(base_url=server.base_url, model="fake-model", mode="tools", timeout=5.0, cache_dir=tmp_path / "cache")
    return get_backend("llm", LLMSettings(**{**base, **settings}))


def shown(body: dict) -> list[tuple[str, dict]]:
    """The examples a request carries, in its order: (text, record)."""
    text = prompt_text(body)
    head = text[:text.rfind(FORM_TEXT)]
    return [(m.group(2), json.loads(m.group(3))) for m in SHOWN.finditer(head)]


@pytest.mark.slow
def test_the_request_carries_the_most_alike_reviewed_forms_of_its_kind_never_the_form_itself(server, tmp_path):
    folder = write_examples(tmp_path / "examples")
    chunk = chunks("004_eec2255c4764dfed")[0]
    # The same project a year earlier, reviewed: the most alike of all (not the form itself).
    gold = json.loads((GOLD / "004_eec2255c4764dfed.json").read_text(encoding="utf-8"))
    earlier_text = chunk.text.replace("2022", "2021")
    (folder / "earlier.json").write_text(json.dumps(
        {"document": "earlier.txt", "forms": [{**gold["forms"][0], "year": 2021}],
         "sources": [{"text": earlier_text, "reviewed": True}]}, ensure_ascii=False), encoding="utf-8")
    form = backend(server, tmp_path, examples=folder, examples_k=4, examples_tokens=100_000).extract(chunk)
    (body,) = [r for r in server.requests if "messages" in r]
    examples = shown(body)
    assert len(examples) == 4
    # the form's own text is there once, as the form, after the examples
    assert chunk.text not in [t for t, _ in examples] and prompt_text(body).count(chunk.text) == 1
    assert all(record["kind"] == "self_evaluation" for _, record in examples)  # 003's declarations left out
    # most alike first: last year's form, then 004's others (its department, its tab layout, its
    # indicator vocabulary), before any of 001's or 002's
    assert examples[0] == (earlier_text, {**gold["forms"][0], "year": 2021})
    others = {c.text: c.index for c in chunks("004_eec2255c4764dfed")}
    assert all(others.get(t, 0) > 0 for t, _ in examples[1:])
    # the record names them, in that order, with the prompt version that shows them
    assert [i.split("@")[0] for i in form.examples] == ["earlier#0"] + [
        f"004_eec2255c4764dfed#{others[t]}" for t, _ in examples[1:]]
    assert form.prompt_version == "extract_self_evaluation.v2"
    assert form.project_name == "区域人才服务经费"  # the scripted model read the form, not an example


def test_the_examples_stay_within_the_token_budget(server, tmp_path):
    folder = write_examples(tmp_path / "examples", stems=("002_0bebddbd16c8cbfb",))
    pool = load_examples(folder)
    # a form whose most alike example is larger than its second
    chunk, ranked = next((c, r) for c in chunks("002_0bebddbd16c8cbfb")
                         if (r := pool.choose(c, k=10, budget=10**9))[0].tokens > r[1].tokens)
    # room for the second most alike and not the first: the first gives way, the second is shown
    budget = ranked[1].tokens
    form = backend(server, tmp_path, examples=folder, examples_k=3, examples_tokens=budget).extract(chunk)
    examples = shown(server.requests[-1])
    assert [t for t, _ in examples] == [ranked[1].text] and form.examples == [ranked[1].id]
    spent = sum(estimated_tokens(t) + estimated_tokens(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
                for t, r in examples)
    assert spent <= budget


def test_the_same_form_read_from_another_file_is_no_example(server, tmp_path):
    folder = write_examples(tmp_path / "examples", stems=("004_eec2255c4764dfed",))
    chunk = chunks("004_eec2255c4764dfed")[1]
    # the same form as another extractor gives it: spacing and one digit read differently
    other = chunk.model_copy(update={"text": chunk.text.replace("\t", "  ").replace("100", "1OO", 1)})
    assert other.text != chunk.text
    form = backend(server, tmp_path, examples=folder).extract(other)
    assert form.examples and not any(i.startswith("004_eec2255c4764dfed#1@") for i in form.examples)
    assert all(record["project_name"] != "综合党委经费" for _, record in shown(server.requests[-1]))


def test_the_cache_hits_while_the_examples_stay_and_misses_when_they_change(server, tmp_path):
    folder = write_examples(tmp_path / "examples", stems=("002_0bebddbd16c8cbfb",))
    chunk = chunks("002_0bebddbd16c8cbfb")[1]
    first = backend(server, tmp_path, examples=folder).extract(chunk)
    assert server.completions == 1 and not first.usage.cached
    # another file of examples, none of them chosen (declarations): the same examples, a hit
    write_examples(folder, stems=("003_f9c598031c2c4aa2",))
    again = backend(server, tmp_path, examples=folder).extract(chunk)
    assert server.completions == 1 and again.usage.cached and again.examples == first.examples
    # a reviewer corrects a value of a chosen example: another example, so another answer
    path = folder / "002_0bebddbd16c8cbfb.json"
    gold = json.loads(path.read_text(encoding="utf-8"))
    chosen = int(first.examples[0].split("#")[1].split("@")[0])
    gold["forms"][chosen]["total_score"] = 88.5
    path.write_text(json.dumps(gold, ensure_ascii=False), encoding="utf-8")
    changed = backend(server, tmp_path, examples=folder).extract(chunk)
    assert server.completions == 2 and not changed.usage.cached
    assert changed.examples[0] != first.examples[0] and changed.examples[1:] == first.examples[1:]
    assert '"total_score":88.5' in prompt_text(server.requests[-1])
    # without examples the form is asked again (prompt v1), and that answer is kept apart too
    plain = backend(server, tmp_path).extract(chunk)
    assert server.completions == 3 and plain.examples == [] and plain.prompt_version == "extract_self_evaluation.v1"
    assert "Example 1 text" not in prompt_text(server.requests[-1])


def test_only_what_a_reviewer_approved_is_an_example(tmp_path):
    run_batch([RAW], tmp_path / "out")
    review = Review(tmp_path / "out", "张三")
    # A document the run partly accepted: its queued forms are approved, the others went
    # through unreviewed (in the gold file, but no example). Which document that is follows
    # the routing, not this test.
    queued = {}
    for item in review.queue():
        queued.setdefault(item["document"], []).append(item)
    forms = {name: n for name, n in review.store.db.execute("SELECT name, forms FROM documents")}
    document, approved = next((name, items) for name, items in sorted(queued.items()) if len(items) < forms[name])
    for item in approved:
        review.apply(item["id"], {}, "approve", 0)
    review.export_gold(tmp_path / "gold")
    review.close()
    pool = load_examples(tmp_path / "gold")
    stem = document.removesuffix(".txt")
    assert sorted((e.project_name, e.id.split("@")[0]) for e in pool.examples) == \
        sorted((i["project_name"], f"{stem}#{i['form_index']}") for i in approved)
    first = min(approved, key=lambda i: i["form_index"])
    example = next(e for e in pool.examples if e.id.split("@")[0] == f"{stem}#{first['form_index']}")
    assert example.text == chunks(stem)[first["form_index"]].text


@pytest.mark.parametrize("make, named", [
    (lambda d: None, "examples folder is not there"),
    (lambda d: d.mkdir(), "no gold files"),
    (lambda d: (d.mkdir(), (d / "x.json").write_text("{not json", encoding="utf-8")), "x.json: 不是标准答案文件 / not a gold file"),
    (lambda d: (d.mkdir(), (d / "y.json").write_text('{"forms": 3}', encoding="utf-8")), "y.json: 不是标准答案文件 / not a gold file"),
    (lambda d: (d.mkdir(), (d / "z.json").write_text((GOLD / "003_f9c598031c2c4aa2.json").read_text(encoding="utf-8"),
                                                     encoding="utf-8")), "no form here was approved by a reviewer"),
])
def test_a_bad_examples_folder_is_named(tmp_path, make, named):
    folder = tmp_path / "examples"
    make(folder)
    with pytest.raises(BadExamples, match=re.escape(named)) as caught:
        load_examples(folder)
    assert str(folder) in str(caught.value) and re.search(r"[\u4e00-\u9fff]", str(caught.value))


def test_a_prompt_version_without_examples_is_refused(server, tmp_path):
    with pytest.raises(ConfigError, match="shows no examples"):
        backend(server, tmp_path, examples=write_examples(tmp_path / "examples", stems=STEMS[:1]), prompt_version="v1")


def test_the_config_file_names_the_folder_relative_to_itself(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "jixiao.toml").write_text('[llm]\nexamples = "reviewed"\nexamples_k = 2\n', encoding="utf-8")
    monkeypatch.setenv("JIXIAO_CONFIG", str(tmp_path / "conf" / "jixiao.toml"))
    settings = load_settings()
    assert (settings.examples, settings.examples_k) == (tmp_path / "conf" / "reviewed", 2)
    assert load_settings(examples=tmp_path / "flag").examples == tmp_path / "flag"  # a flag wins


@pytest.mark.slow
def test_the_command_line_takes_examples_and_names_a_bad_folder(server, tmp_path):
    folder = write_examples(tmp_path / "examples", stems=("002_0bebddbd16c8cbfb",))
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "JIXIAO_MODEL": "fake-model",
           "JIXIAO_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "jixiao", "extract", str(RAW / "001_ec90f154ecebac5e.txt"), "--backend", "llm",
           "--mode", "tools", "-o", str(out), "--examples-k", "1"]
    done = subprocess.run([*cmd, "--examples", str(folder)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    forms = json.loads(out.read_text(encoding="utf-8"))["forms"]
    assert [len(f["examples"]) for f in forms] == [1, 1] and forms[0]["examples"][0].startswith("002_0bebddbd16c8cbfb#")
    assert all(len(shown(r)) == 1 for r in server.requests if "messages" in r)
    bad = subprocess.run([*cmd, "--examples", str(tmp_path / "nothing")], env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "示例文件夹不存在 / the examples folder is not there" in bad.stderr


@pytest.mark.slow
def test_a_run_through_hybrid_records_the_examples_of_the_forms_it_asked_about(server, tmp_path):
    import sqlite3

    folder = write_examples(tmp_path / "examples", stems=("003_f9c598031c2c4aa2",))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "003.txt").write_text((RAW / "003_f9c598031c2c4aa2.txt").read_text(encoding="utf-8"), encoding="utf-8")
    env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "JIXIAO_MODEL": "fake-model",
           "JIXIAO_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "jixiao", "run", str(docs), "--out", str(tmp_path / "out"), "--backend",
                           "hybrid", "--mode", "tools", "--examples", str(folder), "--examples-k", "2"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "out" / "jixiao.sqlite") as db:
        forms = {r["project_name"]: r for r in (json.loads(row[0]) for row in db.execute("SELECT record FROM forms"))}
    asked = [f for f in forms.values() if f["model"]]
    assert asked and server.completions == len(asked)
    for form in asked:  # the document's other forms, never the form itself
        index = next(i for i, f in enumerate(json.loads((GOLD / "003_f9c598031c2c4aa2.json").read_text(
            encoding="utf-8"))["forms"]) if f["project_name"] == form["project_name"])
        assert form["prompt_version"] == "extract_target_declaration.v2" and form["backend"] == "hybrid"
        assert len(form["examples"]) == 2 and all(i.startswith("003_f9c598031c2c4aa2#") for i in form["examples"])
        assert f"003_f9c598031c2c4aa2#{index}@" not in " ".join(form["examples"])
    assert all(f["examples"] == [] for f in forms.values() if not f["model"])


@pytest.mark.parametrize("command", ["extract", "run"])
def test_examples_with_the_rules_back_end_are_refused_by_name(tmp_path, monkeypatch, command):
    """The rules back-end (the default with no endpoint set) shows no model any example:
    `--examples` there is refused, not silently ignored."""
    from typer.testing import CliRunner

    from jixiao.cli import app

    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "JIXIAO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    out = ["--out", str(tmp_path / "out")] if command == "run" else []
    for backend in (["--backend", "rules"], []):
        result = CliRunner().invoke(app, [command, str(RAW / f"{STEMS[0]}.txt"), *out, *backend,
                                          "--examples", str(tmp_path)])
        assert result.exit_code == 2, result.output[-400:]
        assert "rules" in result.output and "--examples" in result.output and "大模型" in result.output
    assert not (tmp_path / "out").exists()
