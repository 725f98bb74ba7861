"""When two readings of a field agree, and which indicator rows of two readings are the same row.

Shared by scoring against gold (`evaluate.py`) and by the hybrid reader's grounding, which
compares the LLM's answer with the rules reader's. Numbers are equal within 1e-6 relative;
names and cells are equal after NFKC, whitespace and HTML-tag removal; long texts are equal
when at least 0.95 similar after the same clean-up. Indicator rows pair by an optimal
assignment on (level1, level2, name) similarity, so one missing row does not shift every
row after it."""

from __future__ import annotations

import difflib
import math

from .text import compact, nfkc

LONG_TEXTS = frozenset({"goal_expected", "goal_actual", "goal_overall", "goal_annual", "deviation"})
LONG_TEXT_ALIKE = 0.95  # a long text is right when at least this similar to the gold


def clean(text: str) -> str:
    """NFKC, HTML tags and all whitespace removed."""
    return compact(nfkc(text))


def values_equal(field: str, gold: object, predicted: object) -> bool:
    """Whether a predicted value counts as right for a gold value of `field`."""
    if gold is None or predicted is None:
        return gold is None and (predicted is None or predicted == "")
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        try:
            p = float(predicted)
        except (TypeError, ValueError):
            return False
        return math.isclose(float(gold), p, rel_tol=1e-6, abs_tol=1e-9)
    g, p = clean(str(gold)), clean(str(predicted))
    if field in LONG_TEXTS:
        return g == p or _similarity(g, p) >= LONG_TEXT_ALIKE
    return g == p


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def pair_rows(gold: list, predicted: list) -> dict[int, int]:
    """Gold row index → predicted row index, by an optimal assignment on the similarity of
    (level1, level2, name); pairs less than half similar are left unpaired."""
    if not gold or not predicted:
        return {}
    import numpy as np  # scipy is slow to import: loaded when rows are first paired, not with jixiao
    from scipy.optimize import linear_sum_assignment

    key = lambda r: (clean(r.level1 or ""), clean(r.level2 or ""), clean(r.name or ""))  # noqa: E731
    gk, pk = [key(r) for r in gold], [key(r) for r in predicted]
    score = np.array([[_row_similarity(g, p) for p in pk] for g in gk])
    rows, cols = linear_sum_assignment(-score)
    return {int(i): int(j) for i, j in zip(rows, cols) if score[i, j] >= 0.5}


def _row_similarity(g: tuple[str, str, str], p: tuple[str, str, str]) -> float:
    # The name decides; the levels break ties between rows of the same name.
    name = 1.0 if g[2] == p[2] else _similarity(g[2], p[2])
    return 0.8 * name + 0.1 * (g[0] == p[0]) + 0.1 * (g[1] == p[1])
