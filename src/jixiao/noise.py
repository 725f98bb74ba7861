"""Noisy variants of a document, for measuring whether confidence finds the errors noise makes.

Each variant applies a few seeded corruptions of the kinds scans and text extraction make:
a misread digit, a lost line, a garbled character, two lines run together, a lost cell
separator. The same seed gives the same variant."""

from __future__ import annotations

import difflib
import random
import re
from typing import NamedTuple

from .text import HAN

_DIGITS = re.compile(r"\d")
_CJK = re.compile(HAN)
_LOOKALIKE = "未末土士己已巳日曰人入八儿大太犬天夫率卒干千于"


def _body_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.strip() and "财政项目支出绩效" not in line]


def _replace_char(lines: list[str], rng: random.Random, pattern: re.Pattern[str], pick) -> None:
    """One character matching `pattern`, somewhere in the body, replaced by `pick(old)`."""
    candidates = [i for i in _body_lines(lines) if pattern.search(lines[i])]
    if candidates:
        i = rng.choice(candidates)
        j = rng.choice([m.start() for m in pattern.finditer(lines[i])])
        lines[i] = lines[i][:j] + pick(lines[i][j]) + lines[i][j + 1:]


def _digit(lines: list[str], rng: random.Random) -> None:
    _replace_char(lines, rng, _DIGITS, lambda old: rng.choice([d for d in "0123456789" if d != old]))


def _drop_line(lines: list[str], rng: random.Random) -> None:
    candidates = _body_lines(lines)
    if candidates:
        del lines[rng.choice(candidates)]


def _garble(lines: list[str], rng: random.Random) -> None:
    _replace_char(lines, rng, _CJK, lambda old: rng.choice(_LOOKALIKE))


def _join(lines: list[str], rng: random.Random) -> None:
    candidates = [i for i in _body_lines(lines) if i + 1 < len(lines)]
    if candidates:
        i = rng.choice(candidates)
        lines[i:i + 2] = [lines[i] + lines[i + 1]]


def _lose_separator(lines: list[str], rng: random.Random) -> None:
    candidates = [i for i in _body_lines(lines) if "\t" in lines[i] or lines[i].count("|") > 2]
    if candidates:
        i = rng.choice(candidates)
        sep = "\t" if "\t" in lines[i] else "|"
        spots = [k for k, ch in enumerate(lines[i]) if ch == sep][1:]
        if spots:
            k = rng.choice(spots)
            lines[i] = lines[i][:k] + lines[i][k + 1:]


CORRUPTIONS = (_digit, _digit, _drop_line, _garble, _join, _lose_separator)


class Slip(NamedTuple):
    """One corruption applied: its kind (`digit`, `drop_line`, …), the lines it changed and what
    they became."""

    kind: str
    before: tuple[str, ...]
    after: tuple[str, ...]


def noisy(text: str, seed: int, corruptions: int = 3, slips: list[Slip] | None = None) -> str:
    """`text` with `corruptions` seeded corruptions applied; each is added to `slips` when given
    (what evals/calibration.py --wrong names as the cause of a wrong field)."""
    rng = random.Random(seed)
    lines = text.split("\n")
    for _ in range(corruptions):
        corrupt = rng.choice(CORRUPTIONS)
        before = list(lines) if slips is not None else lines
        corrupt(lines, rng)
        if slips is not None:
            slips.extend(Slip(corrupt.__name__.lstrip("_"), tuple(before[i1:i2]), tuple(lines[j1:j2]))
                         for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, lines, autojunk=False).get_opcodes()
                         if op != "equal")
    return "\n".join(lines)
