"""Long forms for a model with a small output budget: split by indicator rows, then merged.

The table's rows are counted by the rules reader (the source's own count, used also to
catch rows a model drops). A form whose answer would not fit is cut at line boundaries
inside its indicator table; every piece carries the form's head, so each answer has the
form's fields, and the pieces' rows are joined in order, with 一级/二级 carried over a cut."""

from __future__ import annotations

import math
import re

from ..schema import Chunk

_TABLE_HEAD = re.compile(r"一\s*级\s*指\s*标")
_TOKENS_PER_ROW = {"self_evaluation": 80, "target_declaration": 45}
_BASE_TOKENS = 600


def parts_needed(chunk: Chunk, rows: int, max_output_tokens: int) -> int:
    """How many pieces keep each answer within 60% of the model's output budget."""
    estimate = _BASE_TOKENS + rows * _TOKENS_PER_ROW[chunk.kind] + len(chunk.text) // 8
    return max(1, math.ceil(estimate / (0.6 * max_output_tokens)))


def split_chunk(chunk: Chunk, parts: int) -> list[Chunk]:
    """The chunk cut into `parts` pieces inside its indicator table, each with the form's head."""
    m = _TABLE_HEAD.search(chunk.text)
    if parts <= 1 or not m:
        return [chunk]
    head_end = chunk.text.find("\n", m.end())
    head_end = len(chunk.text) if head_end < 0 else head_end + 1
    head, lines = chunk.text[:head_end], chunk.text[head_end:].split("\n")
    size = math.ceil(len(lines) / parts)
    pieces = []
    for k in range(0, len(lines), size):
        body = "\n".join(lines[k:k + size])
        pieces.append(chunk.model_copy(update={"text": head + body}))
    return pieces


def merge_answers(answers: list[dict]) -> dict:
    """One record from the pieces' answers: the form's fields from the first piece (the
    totals from the last, where the 总分 row is), the rows of all pieces in order."""
    merged = dict(answers[0])
    for key in ("total_weight", "total_score", "grade"):
        if key in answers[-1] and answers[-1][key] is not None:
            merged[key] = answers[-1][key]
    rows: list[dict] = []
    for answer in answers:
        for row in answer.get("indicators") or []:
            row = dict(row)
            if rows:  # a merged level cell cut by the split continues into the next piece
                row["level1"] = row.get("level1") or rows[-1].get("level1")
                row["level2"] = row.get("level2") or rows[-1].get("level2")
            rows.append(row)
    merged["indicators"] = rows
    return merged
