"""Scans: a seed form drawn into a page image (Pillow, Debian's fonts-wqy-zenhei), read by
RapidOCR (the jixiao[ocr] extra; its wheel ships the models), as an image and as a PDF with
no text layer, and scored against the gold."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from conftest import SEEDS, load_gold
from jixiao import extract_document
from jixiao.evaluate import LONG_TEXTS, score_document
from jixiao.schema import DocumentRecord

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def _page(seed: Path, first_line: int, lines: int) -> Image.Image:
    """One form of a tab-separated seed drawn as a page: each cell at its own column."""
    text = seed.read_text(encoding="utf-8").split("\n")[first_line:first_line + lines]
    font = ImageFont.truetype(str(FONT), 22)
    image = Image.new("RGB", (3000, 40 + 34 * len(text)), "white")
    draw = ImageDraw.Draw(image)
    for k, line in enumerate(text):
        x = 20
        for cell in line.split("\t"):
            cell = cell[:60]  # long goal texts are cut: they are not what this test scores
            draw.text((x, 20 + 34 * k), cell, font=font, fill="black")
            x += 22 * len(cell) + 50
    return image


def _short_fields_right(predicted: DocumentRecord) -> float:
    gold = load_gold(SEEDS[3].stem)
    gold = DocumentRecord(document=predicted.document, forms=gold.forms[:1])
    (form,) = [f for f in score_document(gold, predicted) if f.gold_index == 0]
    scored = [f for f in form.fields if f.field.rsplit(".", 1)[-1] not in LONG_TEXTS]
    return sum(f.right for f in scored) / len(scored)


def test_a_photo_of_a_form_is_read_by_ocr(tmp_path):
    image = tmp_path / "form.png"
    _page(SEEDS[3], 0, 27).save(image)
    record = extract_document(image)
    assert len(record.forms) == 1 and len(record.forms[0].indicators) == 9
    accuracy = _short_fields_right(record)
    print(f"\nOCR of a page image: {accuracy:.3f} of the form's fields right (goal texts left out)")
    assert accuracy >= 0.95


def test_a_scanned_pdf_is_read_by_ocr(tmp_path):
    pdf = tmp_path / "scan.pdf"
    _page(SEEDS[3], 0, 27).save(pdf)  # an image-only PDF: no text layer
    record = extract_document(pdf)
    assert _short_fields_right(record) >= 0.95
