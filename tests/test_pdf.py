"""PDFs with a text layer: each seed drawn into a PDF (reportlab, a CJK font from Debian's
fonts-wqy-zenhei), read back through pypdfium2's character boxes, scored against the gold."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SEEDS, load_gold
from jixiao import extract_document
from jixiao.errors import InputError
from jixiao.evaluate import evaluate
from jixiao.ingest import ingest

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SIZE = 10


def _pdf(seed: Path, out: Path, text_layer: bool = True) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    assert FONT.is_file(), "the PDF tests need Debian's fonts-wqy-zenhei (.ci/run installs it)"
    pdfmetrics.registerFont(TTFont("wqy", str(FONT), subfontIndex=0))
    lines = seed.read_text(encoding="utf-8").split("\n")
    width, height, lead = 14000, 60 * 16 + 40, 16
    pdf = canvas.Canvas(str(out), pagesize=(width, height))
    for start in range(0, len(lines), 60):
        y = height - 30
        for line in lines[start:start + 60]:
            x = 20
            for cell in line.split("\t"):  # a tab-separated table: each cell at its own column
                if cell and text_layer:
                    pdf.setFont("wqy", SIZE)
                    pdf.drawString(x, y, cell)
                x += SIZE * len(cell) + 40
            y -= lead
        pdf.showPage()
    pdf.save()
    return out


@pytest.mark.slow
def test_text_layer_pdfs_of_the_seeds_match_the_gold(tmp_path):
    gold = [load_gold(seed.stem) for seed in SEEDS]
    predicted = []
    for seed in SEEDS:
        record = extract_document(_pdf(seed, tmp_path / f"{seed.stem}.pdf"))
        predicted.append(record.model_copy(update={"document": seed.name}))
    report = evaluate(gold, predicted)
    print(f"\ntext-layer PDFs: field accuracy {report.overall:.4f}, rows {report.row_recall:.3f}")
    assert report.form_recall == 1.0
    assert report.overall >= 0.99


@pytest.mark.slow
def test_a_pdf_page_with_nothing_on_it_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="scan.pdf page 1.*no text"):
        ingest(_pdf(SEEDS[3], tmp_path / "scan.pdf", text_layer=False))


@pytest.mark.slow
def test_a_broken_image_is_a_clear_error(tmp_path):
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(InputError, match="photo.jpg"):
        ingest(image)


def test_without_the_ocr_extra_a_scan_says_what_to_install(tmp_path, monkeypatch):
    from jixiao.ingest import ocr

    monkeypatch.setattr(ocr, "find_spec", lambda name: None)  # no RapidOCR wheel installed
    image = tmp_path / "photo.png"
    image.write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match=r"photo.png.*jixiao\[ocr\]"):
        ingest(image)
    with pytest.raises(InputError, match=r"scan.pdf page 1.*jixiao\[ocr\]"):
        ingest(_pdf(SEEDS[3], tmp_path / "scan.pdf", text_layer=False))


def test_a_broken_pdf_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 this is not a pdf")
    with pytest.raises(InputError, match="broken.pdf"):
        ingest(broken)
