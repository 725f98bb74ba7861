"""Mutation test: change one number of a gold record at a time; every change that breaks an
identity of VALIDATION.md must be caught by a finding naming the changed field.

The identities are checked here independently of the validators, with loose tolerances,
so a mutation counts as breaking only when it plainly does."""

from __future__ import annotations

import pytest

from conftest import SEEDS, load_gold
from jixiao.validate import validate
from jixiao.validate.values import Values

pytestmark = pytest.mark.slow  # every test here takes seconds (pytest -m "not slow" leaves them out)

AMOUNTS = ("initial_budget", "annual_budget", "executed")
ROWS = ("total", "current_year", "carryover", "other")


def _n(x):
    return x if isinstance(x, (int, float)) else 0.0


def _slack(total):
    """A sum plainly breaks beyond one unit or a ten-thousandth of the total."""
    return max(1.0, 1e-4 * abs(total))


def _identities(form):
    """name → (holds, paths involved) for every identity of the form."""
    v = Values(form)
    out = {}
    if form.kind == "self_evaluation":
        for col in AMOUNTS:
            total = v.get(f"funds.total.{col}")
            parts = [v.get(f"funds.{r}.{col}") for r in ROWS[1:]]
            if isinstance(total, (int, float)) and any(isinstance(p, (int, float)) for p in parts):
                out[f"F4.{col}"] = (abs(total - sum(map(_n, parts))) <= _slack(total),
                                    [f"funds.{r}.{col}" for r in ROWS])
        for r in ROWS:
            b, e, rate = (v.get(f"funds.{r}.{c}") for c in ("annual_budget", "executed", "execution_rate"))
            if all(isinstance(x, (int, float)) for x in (b, e, rate)) and b:
                out[f"F1.{r}"] = (abs(rate - e / b * 100) <= 0.6 + 50 / abs(b),  # a whole-unit amount's rounding
                                  [f"funds.{r}.{c}" for c in ("annual_budget", "executed", "execution_rate")])
        w, s = v.get("funds.total.weight"), v.get("funds.total.score")
        b, e = v.get("funds.total.annual_budget"), v.get("funds.total.executed")
        if all(isinstance(x, (int, float)) for x in (w, s, b, e)) and b:
            out["F2"] = (abs(s - min(e / b * 100, 100) / 100 * w) <= 0.6,
                         ["funds.total.score", "funds.total.weight", "funds.total.annual_budget",
                          "funds.total.executed"])
        rows = range(len(form.indicators))
        if isinstance(form.total_weight, (int, float)):
            total = _n(w) + sum(_n(form.indicators[i].weight) for i in rows)
            out["T1"] = (abs(form.total_weight - total) <= 0.02,
                         ["total_weight", "funds.total.weight", *(f"indicators[{i}].weight" for i in rows)])
        if isinstance(form.total_score, (int, float)):
            total = _n(s) + sum(_n(form.indicators[i].score) for i in rows)
            out["T2"] = (abs(form.total_score - total) <= 0.02,
                         ["total_score", "funds.total.score", *(f"indicators[{i}].score" for i in rows)])
        for i in rows:
            row = form.indicators[i]
            if isinstance(row.score, (int, float)) and isinstance(row.weight, (int, float)):
                out[f"I1.{i}"] = (0 <= row.score <= row.weight, [f"indicators[{i}].score", f"indicators[{i}].weight"])
    else:
        total = v.get("funds.annual_total")
        parts = [v.get(f"funds.annual_{p}") for p in ("current_year", "carryover", "other")]
        if isinstance(total, (int, float)):
            out["TD-F1"] = (abs(total - sum(map(_n, parts))) <= _slack(total),
                            ["funds.annual_total", *(f"funds.annual_{p}" for p in ("current_year", "carryover", "other"))])
    return out


def _targets(form):
    if form.kind == "target_declaration":
        return [f"funds.annual_{p}" for p in ("total", "current_year", "carryover", "other")]
    paths = [f"funds.{r}.{c}" for r in ("total", "current_year") for c in (*AMOUNTS, "execution_rate")]
    paths += ["funds.total.score", "funds.total.weight", "total_score", "total_weight"]
    paths += [f"indicators[{i}].{f}" for i in range(len(form.indicators)) for f in ("score", "weight")]
    return paths


def _mutated(form, path, value):
    data = form.model_dump()
    node, parts = data, path.replace("]", "").replace("[", ".").split(".")
    for p in parts[:-1]:
        node = node[int(p)] if p.isdigit() else node[p]
    node[parts[-1]] = value
    return type(form).model_validate(data)


def test_mutations_that_break_an_identity_are_caught():
    tried = breaking = caught = 0
    missed = []
    for seed in SEEDS:
        for form in load_gold(seed.stem).forms:
            before = _identities(form)
            for path in _targets(form):
                value = Values(form).get(path)
                if not isinstance(value, (int, float)):
                    continue
                for new in (round(value * 1.37 + 3, 2), round(max(value - 7.5, -1.0), 2)):
                    tried += 1
                    changed = _mutated(form, path, new)
                    after = _identities(changed)
                    broke = [k for k, (held, paths) in before.items()
                             if held and path in paths and k in after and not after[k][0]]
                    if not broke:
                        continue
                    breaking += 1
                    findings = validate(changed)
                    if any(path in f.fields and f.severity in ("error", "warning") for f in findings):
                        caught += 1
                    else:
                        missed.append((seed.stem, form.project_name, path, value, new, broke))
    rate = caught / breaking
    print(f"\nmutations tried {tried}, breaking an identity {breaking}, caught {caught}: catch rate {rate:.4f}")
    assert tried >= 200 and breaking >= 200
    assert rate >= 0.99, missed[:20]
