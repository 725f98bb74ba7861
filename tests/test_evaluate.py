"""The field comparison rules the gold test relies on."""

from jixiao.compare import values_equal
from jixiao.evaluate import compare_documents
from jixiao.schema import DocumentRecord


def test_numbers_compare_as_numbers():
    assert values_equal("weight", 10, 10.0)
    assert values_equal("executed", 2734138.4, 2734138.4000001)
    assert values_equal("executed", 2734138.4, 2734138.5)  # within 1e-6 relative
    assert not values_equal("executed", 2734138.4, 2734141.4)
    assert not values_equal("score", 0.0, None)


def test_names_ignore_whitespace_tags_and_width():
    assert values_equal("level2", "可持续影响指标", "可持 续影 响指 标")
    assert values_equal("name", "<p>读者满意率</p>", "读者满意率")
    assert values_equal("target", "=100.00(%)", "＝100.00（%）")
    assert not values_equal("name", "读者满意率", "读者满意度")


def test_long_texts_need_95_percent_similarity():
    gold = "本项目精准对标推动公共文化服务高质量发展满足人民多层次文化需求" * 3
    assert values_equal("goal_expected", gold, gold[:-2])
    assert not values_equal("goal_expected", gold, gold[: len(gold) // 2])


def _doc(rows):
    return DocumentRecord.model_validate({"document": "d.txt", "forms": [{
        "kind": "target_declaration", "project_name": "P",
        "indicators": [{"level1": "产出指标", "level2": "数量指标", "name": n, "target": t} for n, t in rows]}]})


def test_a_missing_row_does_not_shift_the_rows_after_it():
    gold = _doc([("甲", "=1"), ("乙", "=2"), ("丙", "=3")])
    predicted = _doc([("甲", "=1"), ("丙", "=3")])
    result = compare_documents(gold, predicted)
    assert (result.rows_expected, result.rows_found) == (3, 2)
    assert {m.field for m in result.misses} == {f"indicators[1].{f}" for f in ("level1", "level2", "name", "target")}


def test_an_unpaired_gold_form_scores_all_its_fields_wrong():
    gold = _doc([("甲", "=1")])
    result = compare_documents(gold, DocumentRecord(document="d.txt", forms=[]))
    assert result.right == 0 and result.fields > 0
