"""Validate: deterministic arithmetic and consistency checks over a record. Pure functions:
findings out, values never changed, never raising on bad data."""

from __future__ import annotations

from ..schema import Finding, Form
from . import declaration as td
from . import funds as se
from . import indicators as ind
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
    lets tolerances use the decimals as printed; without it they are read off the values."""
    values = Values(form, source)
    findings: list[Finding] = []
    for rule in RULES[form.kind]:
        try:
            findings.extend(rule(values))
        except Exception as exc:  # a rule must never stop the others on data it did not foresee
            findings.append(Finding(code="INTERNAL", severity="info",
                                    message=f"校验规则{rule.__name__}出错 / rule {rule.__name__} failed: {exc}",
                                    fields=[]))
    return findings
