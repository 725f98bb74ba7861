"""Few-shot examples from reviewed forms: the gold files `jixiao review export-gold` writes
(each form's record beside its source text), and for a form at hand the few of its kind most
like it, within a token budget, never the form itself.

Likeness is offline and cheap: a TF-IDF cosine of character bigrams (the example's project
name, departments and indicator labels, against the form's text: the template's own words
are in every form and weigh nothing, a department's name and its indicators' vocabulary
weigh much), plus the text layout (markdown, tabs, broken lines, columns) the two share."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import BadExamples
from ..schema import Chunk, DocumentRecord, FormKind
from ..prompting import render_prompt
from ..text import HAN
from .rules.reader import detect_layout
from .support import estimated_tokens

log = logging.getLogger("jixiao")

LAYOUT_WEIGHT = 0.25  # a shared layout shows the model how this text breaks its cells
EXAMPLE_OVERHEAD = 40  # tokens of the prompt's wording around each example
_CJK_RUN = re.compile(HAN + "+")
_SPACE = re.compile(r"[\s|]+")


class Example(BaseModel):
    """One reviewed form: its source text and its record (FORMAT.md fields, as JSON)."""

    model_config = ConfigDict(frozen=True)

    id: str  # `<gold file stem>#<form index>@<content hash>`: an edited example is a new one
    kind: FormKind
    text: str
    record: str
    project_name: str | None
    year: int | None
    layout: str
    tokens: int


class ExamplePool:
    """The examples of a folder, with their bigram weights worked out once."""

    def __init__(self, examples: list[Example]):
        self.examples = examples
        profiles = [_bigrams(" ".join(_labels(json.loads(e.record)))) for e in examples]
        documents = Counter(b for profile in profiles for b in profile)
        n = len(examples)
        self.idf = {b: math.log((1 + n) / (1 + df)) + 1 for b, df in documents.items()}  # smoothed, as sklearn's
        self.vectors = [_unit({b: tf * self.idf[b] for b, tf in profile.items()}) for profile in profiles]

    def choose(self, chunk: Chunk, k: int, budget: int) -> list[Example]:
        """Up to `k` examples of the chunk's kind, most like it first, whose tokens together
        stay within `budget`; an example too large for what is left gives way to the next."""
        query = _unit({b: tf * self.idf[b] for b, tf in _bigrams(chunk.text).items() if b in self.idf})
        layout = detect_layout(chunk.text).name
        scored = sorted(((sum(w * query.get(b, 0.0) for b, w in vector.items())
                          + LAYOUT_WEIGHT * (example.layout == layout), example.id, example)
                         for example, vector in zip(self.examples, self.vectors)
                         if example.kind == chunk.kind and not _same_form(example, chunk)),
                        key=lambda s: (-s[0], s[1]))
        chosen, spent = [], 0
        for _, _, example in scored:
            if len(chosen) == k:
                break
            if spent + example.tokens <= budget:
                chosen.append(example)
                spent += example.tokens
        return chosen


def load_examples(folder: str | Path) -> ExamplePool:
    """The approved forms of a folder of gold files, with their source texts. A folder that is
    not there, a file that is not a gold file, or no approved form with its source text is a
    BadExamples error naming the folder or file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadExamples(f"{folder}: 示例文件夹不存在 / the examples folder is not there (write one with "
                          f"`jixiao review export-gold RUN --to {folder}`)")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise BadExamples(f"{folder}: 示例文件夹中没有 .json 文件 / no gold files (*.json) in the examples folder "
                          f"(write them with `jixiao review export-gold RUN --to {folder}`)")
    examples, without = [], []
    for path in files:
        found = _examples_of(path)
        examples += found
        if not found:
            without.append(path.name)
    if not examples:
        raise BadExamples(f"{folder}: 没有经复核通过并带原文的表 / no form here was approved by a reviewer and kept "
                          "with its source text (gold files written by hand, or by an earlier jixiao, hold none): "
                          "export them again with `jixiao review export-gold`")
    if without:
        log.warning("示例文件中没有经复核通过并带原文的表 / no approved form with its source text in %s", ", ".join(without))
    return ExamplePool(examples)


def require_examples_block(version: str) -> None:
    """A ConfigError unless the prompts of this version show the examples they are given."""
    probe = Example(id="probe", kind="self_evaluation", text="JIXIAO-EXAMPLE-PROBE", record="{}", project_name=None,
                    year=None, layout="lines", tokens=0)
    for kind in ("self_evaluation", "target_declaration"):
        if probe.text not in render_prompt(f"extract_{kind}", version, chunk_text="", examples=[probe]):
            raise BadExamples(f"提示词 extract_{kind}.{version} 没有示例部分 / the prompt extract_{kind}.{version} "
                              "shows no examples: use --examples with prompt version v2 or later")


def _examples_of(path: Path) -> list[Example]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = DocumentRecord.model_validate(data)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise BadExamples(f"{path}: 不是标准答案文件 / not a gold file ({reason})") from None
    sources = data.get("sources") or []
    if sources and len(sources) != len(record.forms):
        raise BadExamples(f"{path}: sources 与 forms 的数目不同 / {len(sources)} source texts for "
                          f"{len(record.forms)} forms: export it again with `jixiao review export-gold`")
    examples = []
    for index, (form, source) in enumerate(zip(data["forms"], sources)):
        if not (isinstance(source, dict) and source.get("reviewed") is True and isinstance(source.get("text"), str)
                and source["text"].strip()):
            continue  # only what a reviewer approved teaches the model
        parsed = record.forms[index]
        text = source["text"]
        body = json.dumps(form, ensure_ascii=False, separators=(",", ":"))
        digest = hashlib.sha256(f"{text}\0{body}".encode("utf-8")).hexdigest()[:12]
        examples.append(Example(id=f"{path.stem}#{index}@{digest}", kind=parsed.kind, text=text, record=body,
                                project_name=parsed.project_name, year=parsed.year,
                                layout=detect_layout(text).name,
                                tokens=estimated_tokens(text) + estimated_tokens(body) + EXAMPLE_OVERHEAD))
    return examples


def _same_form(example: Example, chunk: Chunk) -> bool:
    """Whether the example is the form at hand: the same text (spacing aside), or the same form
    read from another file or by another extractor, by what identifies a form (its kind, the
    same already, its project name and its year, printed in the text). Erring here only costs
    an example; showing the model its own answer would fake accuracy."""
    text = _SPACE.sub("", chunk.text)
    if _SPACE.sub("", example.text) == text:
        return True
    name = _SPACE.sub("", example.project_name or "")
    return bool(name) and name in text and (example.year is None or str(example.year) in text)


def _labels(record: dict) -> list[str]:
    """The words a form is like another by: its project, its departments, its indicators."""
    words = [record.get(k) for k in ("project_name", "supervising_dept", "implementing_unit")]
    for row in record.get("indicators") or []:
        words += [row.get(k) for k in ("level1", "level2", "name")]
    return [w for w in words if isinstance(w, str)]


def _bigrams(text: str) -> Counter:
    """Character bigrams within runs of Chinese characters (numbers, spacing and table rules
    say nothing about what a form is about)."""
    return Counter(run[i:i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1))


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {b: w / norm for b, w in vector.items()} if norm else {}
