"""Scans: seed forms printed as ruled A4 pages (evals/scanset.py: Pillow, Debian's
fonts-wqy-zenhei), read by RapidOCR (the jixiao[ocr] extra; its wheel ships the models) and
scored against the gold. The whole set, every seed and every degradation, is scored by
`python evals/scanset.py OUT` (README, "Scans"); here, one form clean, turned and as a JPEG
(OCR is slow), and every seed as a text-layer PDF of the same pages."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import ROOT, SEEDS, load_gold
from jixiao import extract_document
from jixiao.evaluate import evaluate, score_document
from jixiao.ingest import read_image
from jixiao.ingest.ocr import image_rules, skew
from jixiao.schema import DocumentRecord

sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402


def _first_form_accuracy(predicted: DocumentRecord) -> float:
    gold = DocumentRecord(document=predicted.document, forms=load_gold(SEEDS[3].stem).forms[:1])
    (form,) = [f for f in score_document(gold, predicted) if f.gold_index == 0]
    return sum(f.right for f in form.fields) / len(form.fields)


@pytest.fixture(scope="module")
def page():
    """The first form of seed 004, printed: one A4 page with a ruled table and wrapped goals."""
    (first, *_) = scanset.seed_pages(SEEDS[3])
    return scanset.draw(first)


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["image", "rotated", "jpeg"])
def test_a_printed_form_is_read_by_ocr(page, variant, tmp_path):
    image = tmp_path / "form.png"
    scanset.degrade(page, variant).save(image)
    record = extract_document(image)
    assert len(record.forms) == 1 and len(record.forms[0].indicators) == 9
    accuracy = _first_form_accuracy(record)
    print(f"\nOCR of a printed page ({variant}): {accuracy:.3f} of the form's fields right, goal texts included")
    assert accuracy >= 0.95
    # Each field read keeps its page, its box in pixels and the reader's confidence.
    box = record.forms[0].field_boxes["project_name"]
    assert box.page == 1 and box.unit == "px" and 0 < box.confidence <= 1
    assert len(record.forms[0].field_boxes) >= 0.9 * len(record.forms[0].field_spans)


@pytest.mark.slow
def test_a_scanned_pdf_is_read_by_ocr(page, tmp_path):
    pdf = tmp_path / "scan.pdf"
    page.save(pdf)  # an image-only PDF: no text layer
    assert _first_form_accuracy(extract_document(pdf)) >= 0.95


@pytest.mark.slow
def test_pages_read_at_once_read_as_each_page_alone(page, tmp_path, monkeypatch):
    from jixiao.ingest.ocr import Engines, engine, file_pages, image_page

    monkeypatch.setenv("JIXIAO_OCR_THREADS", "2")  # two CPUs for OCR: two one-thread engines read the pages
    second = scanset.draw(scanset.seed_pages(SEEDS[3])[1])
    tiff = tmp_path / "two.tif"
    page.save(tiff, save_all=True, append_images=[second])
    assert len(Engines().for_pages(2)) == 2
    at_once = file_pages(tiff, Engines())
    alone = [image_page(image, "alone", engine()) for image in (page, second)]
    assert [p.text for p in at_once] == [p.text for p in alone] and "项目名称" in alone[1].text
    assert [[(c.text, c.left, c.top, c.confidence) for c in p.chars] for p in at_once] == \
        [[(c.text, c.left, c.top, c.confidence) for c in p.chars] for p in alone]


@pytest.mark.slow
def test_a_one_page_scan_is_read_with_an_idle_lanes_help_as_it_is_read_alone(page, monkeypatch):
    from jixiao.ingest.ocr import Engines, SurerRecogniser, engine, image_page, read_pages

    monkeypatch.setenv("JIXIAO_OCR_THREADS", "2")
    lanes = Engines().for_pages(1)
    if not isinstance(lanes[0].text_rec, SurerRecogniser):
        pytest.skip("lanes lend themselves to OpenVINO's mixed-precision recogniser only")
    assert len(lanes) == 2  # the second lane, with no page of its own, reads part of the first's
    lent = []
    session = lanes[1].text_rec.fast.session  # the idle lane's bfloat16 model: noted when it reads a batch
    monkeypatch.setattr(lanes[1].text_rec.fast, "session", lambda batch: lent.append(len(batch)) or session(batch))
    (helped,) = read_pages([(page, "one.tif")], lanes)
    alone = image_page(page, "alone", engine())
    assert lent  # the idle lane read some of the page's boxes
    assert [(c.text, c.left, c.top, c.confidence) for c in helped.chars] == \
        [(c.text, c.left, c.top, c.confidence) for c in alone.chars]


@pytest.mark.parametrize("turn", [2.6, 0.8, -0.35, -2.2])
def test_a_page_turned_either_way_is_measured_within_a_step_of_its_turn(page, turn):
    # The turn is found from strips of the page moved up and down, not from the page turned:
    # their sense must be PIL's, at either end of the search and between its steps.
    from PIL import Image

    turned = page.convert("L").rotate(turn, resample=Image.Resampling.BICUBIC, fillcolor=255)
    assert skew(turned) == pytest.approx(-turn, abs=0.06)


@pytest.mark.parametrize("size", [(1, 1), (3, 500), (500, 3), (64, 64), (827, 1170)])
def test_a_page_of_one_grey_is_left_as_it_is(size):
    # No row profile is sharper for a turn of a page with nothing on it: it is not resampled.
    from PIL import Image

    assert skew(Image.new("L", size, 200)) == 0


@pytest.mark.slow
def test_a_tilted_page_is_turned_straight_and_its_rules_found(page):
    tilted = scanset.degrade(page, "rotated")  # 1.5° anticlockwise
    assert skew(tilted) == pytest.approx(-1.5, abs=0.1)
    assert skew(page) == 0  # a straight page is left as it is
    rules, wiped = image_rules(page)
    (first, *_) = scanset.seed_pages(SEEDS[3])
    printed = sorted({y0 for x0, y0, x1, y1 in scanset._rules(first) if y0 == y1})
    assert [-y for y, _, _ in rules.horizontal] == pytest.approx(printed, abs=2)
    top = printed[0]  # the first rule, wiped: nothing dark left along it
    assert np.asarray(page)[top - 1:top + 2, 200:1400].min() < 160 <= np.asarray(wiped)[top - 1:top + 2, 200:1400].min()


def test_a_line_of_large_text_is_not_a_rule_and_a_page_border_is_not_a_table():
    from PIL import Image, ImageDraw, ImageFont

    from jixiao.ingest.pdf import Char, table_layout

    image = Image.new("L", (1654, 600), 255)
    pen = ImageDraw.Draw(image)
    pen.text((90, 200), "财政项目支出绩效自评表党群综合服务项目名称图书综合经费主管部门上海市闵行区江川路街道办事处实施单位",
             font=ImageFont.truetype(str(scanset.FONT), 30), fill=0)
    pen.rectangle((20, 20, 1634, 580), outline=0, width=3)
    rules, _ = image_rules(image)
    assert len(rules.horizontal) == 2  # the border's top and bottom, not the line of text
    # Inside a border, lines stay lines: two edges make no table row.
    chars = [Char(c, 100 + 30 * i, 128 + 30 * i, -230 - 40 * k, -200 - 40 * k)
             for k, line in enumerate(["项目名称", "图书经费"]) for i, c in enumerate(line)]
    assert table_layout(chars, lambda line: "".join(c.text for c in line), rules)[0] == "项目名称\n图书经费"


@pytest.mark.slow
def test_a_broken_multi_page_tiff_fails_alone_by_name(tmp_path, page):
    from jixiao.errors import InputError
    from jixiao.ingest import ingest

    whole = tmp_path / "whole.tif"
    page.save(whole, save_all=True, append_images=[page])
    broken = tmp_path / "broken.tif"
    broken.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])
    with pytest.raises(InputError, match="broken.tif"):
        ingest(broken)


def test_an_engine_in_rapidocrs_shape_is_passed_in(page, tmp_path):
    # How benchmarks/tesseract.py compares another engine: handed to the reader, not chosen by
    # jixiao; the crops of cells it found no text in are its to answer, with nothing here.
    calls = []

    def engine(image, use_cls=False, return_word_box=False, use_det=True):
        calls.append(use_det)
        if not use_det:
            return [], None
        return [([[120, 100], [520, 100], [520, 140], [120, 140]], "项目名称 图书综合经费", 0.9)], None

    image = tmp_path / "form.png"
    page.save(image)
    doc = read_image(image, engine)
    assert doc.text.strip() == "项目名称 图书综合经费" and doc.name == "form.png"
    assert calls[0] is True and False in calls  # the page, then the ruled cells with ink unread


@pytest.mark.slow
def test_text_layer_pdfs_of_the_printed_seeds_match_the_gold(tmp_path):
    gold = [load_gold(seed.stem) for seed in SEEDS]
    predicted = []
    for seed in SEEDS:
        pdf = scanset.write_pdf(scanset.seed_pages(seed), tmp_path / f"{seed.stem}.pdf")
        predicted.append(extract_document(pdf))
    report = evaluate(gold, predicted)  # paired by stem: 001_….pdf with the gold of 001_….txt
    print(f"\nprinted seeds as text-layer PDFs: field accuracy {report.overall:.4f}")
    assert report.form_recall == 1.0 and report.overall >= 0.99


def test_a_text_layer_field_keeps_the_page_and_box_it_was_printed_in(tmp_path):
    doc_pages = scanset.seed_pages(SEEDS[3])
    record = extract_document(scanset.write_pdf(doc_pages[:2], tmp_path / "two.pdf"))
    second = record.forms[1]
    (x, y, _), = [t for t in scanset._texts(doc_pages[1]) if t[2] == second.project_name]
    box, k = second.field_boxes["project_name"], 72 / scanset.DPI
    assert (box.page, box.unit, box.confidence) == (2, "pt", None)
    assert box.left == pytest.approx(x * k, abs=1.5) and box.top == pytest.approx(y * k, abs=scanset.LEAD * k)


def test_a_field_the_ocr_was_unsure_of_loses_confidence_and_goes_to_review():
    from jixiao import extract_text
    from jixiao.check import check_form
    from jixiao.schema import TextBox

    text = SEEDS[3].read_text(encoding="utf-8")
    form = extract_text(text).forms[0]
    span = form.field_spans["project_name"]

    def checked(confidence: float):
        box = TextBox(start=span.start, end=span.end, page=1, unit="px", left=0, top=0, right=9, bottom=9,
                      confidence=confidence)
        return check_form(form.model_copy(deep=True), text, boxes=[box])

    sure, unsure = checked(0.99), checked(0.5)
    assert sure.field_confidence["project_name"] == form.field_confidence["project_name"]
    # The reader's 0.5 on its own scale, as measured (confidence.OCR_CURVE): below the threshold.
    from jixiao.confidence import ocr_trust

    assert ocr_trust(0.5) < 0.8
    assert unsure.field_confidence["project_name"] == pytest.approx(ocr_trust(0.5) * sure.field_confidence["project_name"],
                                                                    abs=1e-3)
    assert any("OCR read it with confidence 0.50" in r for r in unsure.confidence_reasons)
    assert (sure.route.decision, unsure.route.decision) == ("accepted", "needs_review")


def test_a_letter_o_among_figures_is_read_as_a_zero():
    from jixiao.ingest.ocr import _digits

    assert [_digits(t) for t in ("O", "1O0%", "10.O", "o")] == ["0", "100%", "10.0", "0"]
    assert [_digits(t) for t in ("OK", "完成率O", "Oct")] == ["OK", "完成率O", "Oct"]


@pytest.mark.slow
def test_a_ruled_cell_with_ink_but_no_text_found_is_read_on_its_own():
    from PIL import Image, ImageDraw, ImageFont

    from jixiao.ingest.ocr import _unread_cells, engine

    image = Image.new("L", (1654, 200), 255)
    pen = ImageDraw.Draw(image)
    edges = [90, 400, 700, 1000]
    for y in (60, 110):
        pen.line((90, y, 1000, y), fill=0, width=2)
    for x in edges:
        pen.line((x, 60, x, 110), fill=0, width=2)
    font = ImageFont.truetype(str(scanset.FONT), 24)
    for x, text in zip(edges, ["项目名称", "15", "0"]):
        pen.text((x + 8, 72), text, font=font, fill=0)
    rules, clean = image_rules(image)
    # As if the detector had found nothing: every inked cell is read by itself, left to right.
    read = _unread_cells(clean, rules, [], engine(), 0)
    assert "".join(c.text for c in read) == "项目名称150"
    assert {c.group for c in read} == {0, 1, 2} and all(0 < c.confidence <= 1 for c in read)
