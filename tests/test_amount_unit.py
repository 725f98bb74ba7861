"""The amount unit where a form states it twice (项目资金（元） and a note 本表金额单位为万元), or only
in a note: one reading of the unit (units.py), shared by the readers and the validators."""

from jixiao import extract_text
from jixiao.check import check_form

from test_grounding import FORM

LABELLED = FORM.replace("项目资金 (万元)", "项目资金（元）")
UNLABELLED = FORM.replace("项目资金 (万元)", "项目资金")
NOTE = "本表金额单位为万元\n"


def _form(text):
    return extract_text(text, "hand.txt").forms[0]


def _unit_findings(form):
    return [f for f in form.findings if f.code == "U3"]


def test_a_label_and_a_note_that_disagree_send_the_form_to_review():
    for text in (LABELLED + NOTE, LABELLED.replace("（2024年度）\n", "（2024年度）\n单位：万元\n")):
        assert text.count("万元") == 1
        form = _form(text)
        assert form.amount_unit == "元"  # the label's, as before: but not silently
        assert form.route.decision == "needs_review"
        assert any(n.field == "amount_unit" and n.code == "unit_disagrees" for n in form.notes)
        assert form.extraction_confidence["amount_unit"] < 0.5
        (u3,) = _unit_findings(form)
        zh, en = u3.message.split(" / ")
        assert "万元" in zh and "disagree" in en
        assert u3.triage == "extraction_suspect" and u3.suspect_fields == ["amount_unit"]


def test_the_same_form_with_one_unit_is_accepted():
    form = _form(LABELLED + "本表金额单位为元\n")
    assert form.amount_unit == "元" and form.route.decision == "accepted" and not _unit_findings(form)


def test_a_note_alone_states_the_unit():
    form = _form(UNLABELLED + "金额单位：万元\n")
    assert form.amount_unit == "万元" and form.route.decision == "accepted"
    assert "amount_unit" in form.field_spans
    assert not [f for f in form.findings if f.code in ("U1", "U3")]


def test_any_reading_of_the_unit_is_checked_against_the_note():
    # An LLM (or a person editing the record) answering 元 where the form's only statement says 万元.
    text = UNLABELLED + "金额单位：万元\n"
    form = _form(text)
    form.amount_unit = "元"
    checked = check_form(form, text)
    assert _unit_findings(checked) and checked.route.decision == "needs_review"


def test_other_words_with_a_unit_in_them_are_no_statement_of_the_amount_unit():
    text = (FORM.replace("某街道社区事务受理中心", "元江县财政局").replace("实施单位\t", "实施单位：")
            .replace("服务居民人次", "人均服务成本（计量单位：元）"))
    assert text.count("单位：元") == 2
    form = _form(text)
    assert form.amount_unit == "万元" and not _unit_findings(form)
    assert not any(n.code == "unit_disagrees" for n in form.notes)
