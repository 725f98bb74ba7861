"""Scans: seed forms printed as ruled A4 pages (evals/scanset.py: Pillow, Debian's
fonts-wqy-zenhei), read by RapidOCR (the jixiao[ocr] extra; its wheel ships the models) and
scored against the gold. The whole set, every seed and every degradation, is scored by
`python evals/scanset.py OUT` (README, "Scans"); here, one form clean, turned and as a JPEG
(OCR is slow), and every seed as a text-layer PDF of the same pages."""

from __future__ import annotations

import sys

import pytest

from conftest import ROOT, SEEDS, load_gold
from jixiao import extract_document
from jixiao.evaluate import evaluate, score_document
from jixiao.ocr import image_rules, skew
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


@pytest.mark.parametrize("variant", ["image", "rotated", "jpeg"])
def test_a_printed_form_is_read_by_ocr(page, variant, tmp_path):
    image = tmp_path / "form.png"
    scanset.degrade(page, variant).save(image)
    record = extract_document(image)
    assert len(record.forms) == 1 and len(record.forms[0].indicators) == 9
    accuracy = _first_form_accuracy(record)
    print(f"\nOCR of a printed page ({variant}): {accuracy:.3f} of the form's fields right, goal texts included")
    assert accuracy >= 0.95


def test_a_scanned_pdf_is_read_by_ocr(page, tmp_path):
    pdf = tmp_path / "scan.pdf"
    page.save(pdf)  # an image-only PDF: no text layer
    assert _first_form_accuracy(extract_document(pdf)) >= 0.95


def test_a_tilted_page_is_turned_straight_and_its_rules_found(page):
    tilted = scanset.degrade(page, "rotated")  # 1.5° anticlockwise
    assert skew(tilted) == pytest.approx(-1.5, abs=0.1)
    rules, _ = image_rules(page)
    # Every ruled row of the printed page is found: one more rule than rows.
    printed = [row for _, row in scanset.pages(scanset.layout(page_text())) [0] if row.ruled]
    assert len(rules.horizontal) >= len(printed)


def page_text() -> str:
    from jixiao.ingest import ingest
    from jixiao.segment import segment

    return segment(ingest(SEEDS[3]))[0].text


def test_text_layer_pdfs_of_the_printed_seeds_match_the_gold(tmp_path):
    gold = [load_gold(seed.stem) for seed in SEEDS]
    predicted = []
    for seed in SEEDS:
        pdf = scanset.write_pdf(scanset.seed_pages(seed), tmp_path / f"{seed.stem}.pdf")
        predicted.append(extract_document(pdf))
    report = evaluate(gold, predicted)  # paired by stem: 001_….pdf with the gold of 001_….txt
    print(f"\nprinted seeds as text-layer PDFs: field accuracy {report.overall:.4f}")
    assert report.form_recall == 1.0 and report.overall >= 0.99
