"""Validate: deterministic arithmetic and consistency checks over a record. Pure functions:
findings out, values never changed, never raising on bad data."""

from __future__ import annotations

from ..schema import Finding, Form
from . import declaration as td
from . import funds as se
from . import indicators as ind
from .swaps import mark_swaps
from .values import Values

SELF_EVALUATION_RULES = (se.se_f1_execution_rate, se.se_f2_execution_score, se.se_f3_execution_weight,
                         se.se_f4_fund_sum, se.se_f5_amounts, se.se_f6_low_execution, se.se_t1_weights,
                         se.se_t2_scores, se.se_t3_shares, se.se_g1_grade, ind.se_i1_score_range,
                         ind.se_i2_quantitative, ind.se_i3_qualitative, ind.se_i4_deviation, ind.v_grammar,
                         ind.taxonomy, ind.units)
TARGET_DECLARATION_RULES = (td.td_r1_required, td.td_f1_annual_sum, td.td_f2_project_sum,
                            td.td_f3_project_covers_year, td.td_d1_dates, td.td_e_enums, ind.v_grammar, ind.taxonomy,
                            ind.units)
RULES = {"self_evaluation": SELF_EVALUATION_RULES, "target_declaration": TARGET_DECLARATION_RULES}


def validate(form: Form, source: str | None = None) -> list[Finding]:
    """Every finding of every rule for the form's kind. `source`, the document's text,
    lets tolerances use the decimals as printed; without it they are read off the values.
    Findings two figures' swap settles are marked the reading's (swaps.py)."""
    values = Values(form, source)
    produced = [(rule, f) for rule in RULES[form.kind] for f in _findings_of(rule, values)]
    findings = [f for _, f in produced]
    try:
        return mark_swaps(values, findings, run_rules, {id(f): rule for rule, f in produced})
    except Exception as exc:  # the findings stand without the swap test
        return [*findings, _failed("mark_swaps", exc)]


def run_rules(values: Values, rules: tuple | None = None) -> list[Finding]:
    """The findings of `rules` (by default every rule for the form's kind) on these values."""
    return [f for rule in (RULES[values.form.kind] if rules is None else rules) for f in _findings_of(rule, values)]


def _findings_of(rule, values: Values) -> list[Finding]:
    try:
        return list(rule(values))
    except Exception as exc:  # a rule must never stop the others on data it did not foresee
        return [_failed(rule.__name__, exc)]


def _failed(name: str, exc: Exception) -> Finding:
    return Finding(code="INTERNAL", severity="info",
                   message=f"校验规则{name}出错 / rule {name} failed: {type(exc).__name__}: {exc}", fields=[])
