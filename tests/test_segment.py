import pytest

from conftest import RAW
from jixiao.errors import SegmentationError
from jixiao.ingest import ingest, ingest_text
from jixiao.segment import segment

EXPECTED = {
    "001_ec90f154ecebac5e": ["self_evaluation"] * 2,
    "002_0bebddbd16c8cbfb": ["self_evaluation"] * 7,
    "003_f9c598031c2c4aa2": ["target_declaration"] * 3,
    "004_eec2255c4764dfed": ["self_evaluation"] * 9,
}


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_one_chunk_per_form_in_order(stem):
    doc = ingest(RAW / f"{stem}.txt")
    chunks = segment(doc)
    assert [c.kind for c in chunks] == EXPECTED[stem]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for a, b in zip(chunks, chunks[1:]):
        assert a.span.end <= b.span.start
    for c in chunks:
        assert c.text == doc.text[c.span.start:c.span.end]
        assert c.text.startswith("财政项目支出绩效")
        assert "项目名称" in c.text


def test_all_seeds_hold_21_forms():
    assert sum(len(segment(ingest(p))) for p in RAW.glob("*.txt")) == 21


def test_a_document_with_no_form_is_an_error():
    with pytest.raises(SegmentationError, match="notes.txt.*no form"):
        segment(ingest_text("会议纪要\n今天讨论了预算。\n", name="notes.txt"))


def test_a_title_mentioned_inside_a_sentence_is_not_a_form():
    text = "说明：请按财政项目支出绩效自评表填写。\n"
    with pytest.raises(SegmentationError):
        segment(ingest_text(text))
