"""FORMAT.md paths read by one parser, a form's fields walked by one walk derived from the
models, and the answer schema's hash (part of every cached LLM answer's key) kept as it was."""

from __future__ import annotations

import hashlib
import json

import pytest
from pydantic.json_schema import model_json_schema

from jixiao.schema import (
    FORM_FIELDS, PROVENANCE, ROW_FIELDS, RECORD_MODELS, SelfEvaluation, SelfEvaluationIndicator,
    answer_model, format_paths, format_values, path_parts, row_cell, row_index, value_at,
)


@pytest.mark.parametrize("path,parts", [
    ("indicators[3].score", ("indicators", 3, "score")),
    ("indicators[12]", ("indicators", 12)),
    ("funds.total.executed", ("funds", "total", "executed")),
    ("funds.annual_total", ("funds", "annual_total")),
    ("project_name", ("project_name",)),
])
def test_a_path_reads_as_its_parts(path, parts):
    assert path_parts(path) == parts


def test_rows_are_told_from_other_paths():
    assert row_cell("indicators[3].level2") == (3, "level2")
    assert row_cell("indicators[3]") is None and row_index("indicators[3]") == 3
    assert row_index("indicators[3].name") == 3
    for other in ("funds.total.score", "project_name", "indicators", "notes[2].field"):
        assert row_cell(other) is None and row_index(other) is None


def test_value_at_reads_fields_rows_and_funds_and_none_where_the_form_has_no_such_place():
    form = SelfEvaluation(project_name="甲", indicators=[SelfEvaluationIndicator(name="完成率", score=9.5)])
    form.funds.total.executed = 541.39
    assert value_at(form, "project_name") == "甲"
    assert value_at(form, "indicators[0].score") == 9.5
    assert value_at(form, "funds.total.executed") == 541.39
    assert value_at(form, "indicators[1].score") is None  # no second row
    assert value_at(form, "funds.annual_total") is None  # a declaration's fund, not this kind's
    assert value_at(None, "project_name") is None


@pytest.mark.parametrize("model", RECORD_MODELS)
def test_every_field_is_either_walked_or_bookkeeping(model):
    """A field added to a record or a row is walked (scored, reviewed, asked of the LLM) unless
    it is marked as jixiao's bookkeeping: the two sets split the model's fields."""
    row = model.model_fields["indicators"].annotation.__args__[0]
    form = model(indicators=[row()])
    walked = {path.split(".")[0].split("[")[0] for path in format_paths(form)}
    assert walked | (PROVENANCE & set(model.model_fields)) == set(model.model_fields)
    assert not walked & PROVENANCE
    assert set(ROW_FIELDS[form.kind]) | (PROVENANCE & set(row.model_fields)) == set(row.model_fields)
    # What the LLM is asked for is exactly the walked fields, rows likewise.
    answer = answer_model(model)
    assert set(answer.model_fields) == walked
    assert set(answer.model_fields["indicators"].annotation.__args__[0].model_fields) == set(ROW_FIELDS[form.kind])
    assert [name for name, _ in format_values(form, rows=False)][:len(FORM_FIELDS[form.kind])] == list(FORM_FIELDS[form.kind])


@pytest.mark.parametrize("model", RECORD_MODELS)
def test_the_schema_hash_is_the_sha256_of_the_schema_sent(model):
    # Cached answers are keyed by it: a different derivation would orphan every user's cache.
    answer = answer_model(model)
    fresh = model_json_schema(answer)  # pydantic's own generator, past jixiao's cache
    expected = hashlib.sha256(json.dumps(fresh, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    assert answer.schema_hash() == expected
    assert answer.model_json_schema() == fresh
    answer.model_json_schema()["properties"].clear()  # a caller's copy, not the cache
    assert answer.model_json_schema() == fresh
