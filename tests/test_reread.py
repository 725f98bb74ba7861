"""A scan's doubts weighed by more evidence: a box the reader was unsure of read a second time
(ingest/ocr.py `_read_again`), the same ink read twice (`_read_twice`), and a 一级 implied by its
二级 that the form bears out (confidence.py `_implied_borne_out`)."""

from __future__ import annotations

import json
import sys

import pytest
from test_validate import se

from conftest import GOLD, ROOT, SEEDS
from jixiao.confidence import score
from jixiao.ingest.ocr import DISPUTED, OCR_SURE, _read_again, _read_twice
from jixiao.ingest.pdf import Char
from jixiao.schema import Note

sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402


def word(text: str, confidences: list[float], group: int, left: float = 10.0, width: float = 12.0) -> list[Char]:
    return [Char(c, left + k * width, left + (k + 1) * width, -40.0, -10.0, group, p)
            for k, (c, p) in enumerate(zip(text, confidences))]


class Recogniser:
    """RapidOCR's recogniser in shape (`text_rec(crops, return_word_box)`), answering each crop
    with the next of `reads` (text, per-character confidences)."""

    def __init__(self, *reads: tuple[str, list[float]]):
        self.reads, self.crops = list(reads), []

    def text_rec(self, crops, return_word_box):
        self.crops += crops
        answers = [self.reads.pop(0) for _ in crops]
        return [(t, sum(p) / len(p), [len(t), [], [], [], p]) for t, p in answers], 0.0


class Engine:
    def __init__(self, recogniser: Recogniser | None = None):
        if recogniser is not None:
            self.text_rec = recogniser.text_rec


@pytest.fixture
def page():
    from PIL import Image

    return Image.new("L", (400, 100), 255)


def confidences(chars: list[Char]) -> list[float]:
    return [c.confidence for c in chars]


def test_a_second_read_that_agrees_lifts_the_doubt_and_one_that_differs_disputes_the_characters(page):
    agreed = word("≥90(%)", [1.0, 1.0, 1.0, 1.0, 0.61, 1.0], 0)
    recogniser = Recogniser(("≥90(%)", [1.0, 1.0, 1.0, 1.0, 0.98, 1.0]))
    _read_again(page, agreed, Engine(recogniser))
    assert confidences(agreed) == [1.0, 1.0, 1.0, 1.0, 0.98, 1.0]
    assert len(recogniser.crops) == 1  # only the doubtful box was read again

    misread = word("990%", [1.0, 0.95, 1.0, 1.0], 0)  # a figure read twice over, the reader fairly sure
    _read_again(page, misread, Engine(Recogniser(("90%", [1.0, 1.0, 1.0]))))
    assert "".join(c.text for c in misread) == "990%"  # the text stays the first read's
    assert min(confidences(misread)) == DISPUTED < OCR_SURE
    assert sum(c == DISPUTED for c in confidences(misread)) == 1

    confident_other = word("社会效益", [1.0, 0.7, 1.0, 1.0], 0)  # the second read sure of another reading
    _read_again(page, confident_other, Engine(Recogniser(("社会会效益", [1.0, 1.0, 1.0, 1.0, 1.0]))))
    assert confidences(confident_other) == [1.0, 0.7, 1.0, 1.0]  # reads that differ lift nothing

    unsure = word("提升", [0.6, 1.0], 0)  # two reads agreeing, neither sure: still in doubt
    _read_again(page, unsure, Engine(Recogniser(("提升", [0.7, 1.0]))))
    assert confidences(unsure) == [0.7, 1.0]


def test_a_box_at_the_edge_of_the_page_is_read_again_within_the_page(page):
    edge = word("90%", [1.0, 0.6, 1.0], 0, left=1.0)  # 1..37, less than AGAIN_PAD from the left edge
    recogniser = Recogniser(("90%", [1.0, 1.0, 1.0]))
    _read_again(page, edge, Engine(recogniser))
    (crop,) = recogniser.crops
    assert crop.min() == 255  # white page, no black fill off it
    assert confidences(edge) == [1.0, 1.0, 1.0]


def test_sure_boxes_are_not_read_again_nor_is_an_engine_without_a_recogniser(page):
    sure = word("完成率100%", [1.0] * 7, 0)
    recogniser = Recogniser()
    _read_again(page, sure, Engine(recogniser))
    assert recogniser.crops == [] and confidences(sure) == [1.0] * 7
    doubtful = word("90%", [1.0, 0.6, 1.0], 0)
    _read_again(page, doubtful, Engine())
    assert confidences(doubtful) == [1.0, 0.6, 1.0]


def test_the_same_ink_read_twice_is_disputed_and_no_second_read_lifts_it(page):
    label = word("指标", [1.0, 1.0], 0, left=10)  # 标: 22..34
    ghost = word("示", [0.87], 1, left=28, width=14)  # the right of 标 read as a box of its own
    beside = word("人才", [1.0, 0.95], 2, left=60)  # the next cell: apart
    chars = label + ghost + beside
    assert _read_twice(chars) == ghost
    _read_again(page, chars, Engine(Recogniser(("示", [1.0]), ("人才", [1.0, 1.0]))))
    assert confidences(ghost) == [DISPUTED]
    assert confidences(label) == [1.0, 1.0] and confidences(beside) == [1.0, 1.0]
    below = [Char("示", 28, 42, -80.0, -50.0, 3, 0.87)]  # the same columns, the line below
    assert _read_twice(label + below) == []


def implied(name: str, target: str, after: tuple[str, str] = ("效益指标", "社会效益指标"), printed: bool = True):
    """indicators[1] with its 一级 效益指标 implied by its 二级 经济效益指标 (a merged 一级 cell's label
    printed at its middle, on the next row), and the next row's labels `after`."""
    form = se()
    form.indicators[1].level2, form.indicators[1].name = "经济效益指标", name
    form.indicators[1].target = form.indicators[1].actual = target
    form.indicators.append(form.indicators[1].model_copy(update={"level1": after[0], "level2": after[1],
                                                                   "name": "群众参与率", "target": "≥90%"}))
    form.notes = [Note(field="indicators[1].level1", code="implied", message="一级 效益指标 implied by 二级 经济效益指标")]
    if not printed:
        form.notes.append(Note(field="indicators[2].level1", code="implied", message="implied"))
    return score(form, None).field_confidence["indicators[1].level1"]


def test_an_implied_level1_is_trusted_when_the_row_and_the_next_one_bear_it_out():
    assert implied("不产生直接经济效益", "0") > 0.9
    assert implied("带动产业发展", "提升") > 0.9


def test_an_implied_level1_keeps_its_doubt_without_both_pieces_of_evidence():
    assert implied("书记参与满意度", "完成率100%") < 0.9  # the row is not of 经济效益's kind
    assert implied("不产生直接经济效益", "0", after=("满意度指标", "服务对象满意度指标")) < 0.9  # another group next
    assert implied("不产生直接经济效益", "0", after=("效益指标", "经济效益指标")) < 0.9  # same 二级: not a neighbour's
    assert implied("不产生直接经济效益", "0", printed=False) < 0.9  # the next row's 一级 implied too


@pytest.mark.slow
def test_clean_scans_of_forms_with_an_implied_level1_and_a_doubtful_percent_sign_are_accepted(tmp_path):
    """Two forms printed and scanned clean at 200 dpi, every field read right: “泾彩”书记工作室
    (its 经济效益指标 row's 一级 cell blank, 效益指标 printed on the next row) and 生活驿站运行经费
    (whose 群众满意度 target's % the page's read is unsure of): accepted."""
    from jixiao.evaluate import score_document
    from jixiao.ingest import ingest
    from jixiao.pipeline import extract_source
    from jixiao.schema import DocumentRecord
    from jixiao.segment import segment

    wanted = {"“泾彩”书记工作室": SEEDS[3], "生活驿站运行经费": SEEDS[2]}
    for name, seed in wanted.items():
        (chunk,) = [c for c in segment(ingest(seed)) if name in c.text[:300]]
        pages = [scanset.draw(p) for p in scanset.pages(scanset.layout(chunk.text))]
        scan = tmp_path / f"{seed.stem}.tif"
        pages[0].save(scan, save_all=True, append_images=pages[1:])
        record = extract_source(ingest(scan))
        gold = json.loads((GOLD / f"{seed.stem}.json").read_text(encoding="utf-8"))
        truth = DocumentRecord.model_validate({**gold, "forms": [f for f in gold["forms"] if f["project_name"] == name]})
        (result,) = score_document(truth, record)
        assert [f.path for f in result.fields if not f.right] == [], name
        assert record.forms[0].route.decision == "accepted", (name, record.forms[0].route.reasons)
