"""Validate: deterministic arithmetic and consistency checks over a record. Pure functions:
findings out, values never changed, never raising on bad data."""

from __future__ import annotations

from ..schema import Finding, Form
from .rules import SELF_EVALUATION_RULES, TARGET_DECLARATION_RULES
from .values import Values

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
