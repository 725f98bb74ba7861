"""Small inputs with large costs, and files that are not files: each is refused by name before
it is opened, decoded or rendered. A blank page in a scan is a note, not a lost document.
All inputs are real files built here: a named pipe, a PDF page 5 m wide (pypdfium2), a
12000 × 12000 PNG, a text file over the limit, a printed form with a white page after it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT, SEEDS
from jixiao import extract_document
from jixiao.errors import InputError, InputTooLarge, NotRegularFile
from jixiao.ingest import ingest

sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402


def _jixiao(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI in its own process: if reading an input never ends, the test fails, not hangs."""
    try:
        return subprocess.run([sys.executable, "-m", "jixiao", *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "COLUMNS": "200"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"jixiao {' '.join(map(str, args))} did not finish in {timeout} s")


@pytest.fixture(scope="module")
def form_page():
    """The first form of seed 004, printed: one A4 page at 200 dpi."""
    (first, *_) = scanset.seed_pages(SEEDS[3])
    return scanset.draw(first)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["extract", "run"])
def test_a_named_pipe_is_refused_by_name_and_the_rest_goes_on(tmp_path, command):
    pipe = tmp_path / "自评表.txt"
    os.mkfifo(pipe)
    folder = tmp_path / "folder"
    folder.mkdir()
    os.mkfifo(folder / "pipe.txt")  # inside a folder too: named, never opened
    (folder / SEEDS[1].name).write_bytes(SEEDS[1].read_bytes())
    out = ["-o", tmp_path / "out.jsonl"] if command == "extract" else ["--out", tmp_path / "run"]
    done = _jixiao(command, pipe, folder, *out)
    assert done.returncode == 1, done.stderr
    assert "自评表.txt: 不是普通文件，而是命名管道" in done.stderr
    assert "not a regular file but a named pipe (FIFO)" in done.stderr
    assert f"{folder / 'pipe.txt'}: 不是普通文件" in done.stderr
    if command == "extract":
        assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    else:
        from jixiao.store import Store

        store = Store(tmp_path / "run")
        try:
            assert [len(r.forms) > 0 for r in store.records()] == [True]
            assert sorted(status for _, status, _ in store.documents()) == ["done", "failed", "failed"]
        finally:
            store.close()


@pytest.mark.parametrize("special", ["fifo", "/dev/null", "folder"])
def test_only_regular_files_are_read(tmp_path, special):
    from jixiao.ingest import check_input

    path = {"fifo": tmp_path / "p.pdf", "/dev/null": "/dev/null", "folder": tmp_path}[special]
    if special == "fifo":
        os.mkfifo(path)
    with pytest.raises(NotRegularFile, match=f"{path}: .*(not a regular file|is a folder)"):
        check_input(path)


@pytest.mark.slow
def test_a_text_file_over_the_limit_is_refused_by_extract_too(tmp_path):
    big = tmp_path / "big.txt"
    text = SEEDS[1].read_text(encoding="utf-8")
    with big.open("w", encoding="utf-8") as out:
        for _ in range(21 * 2**20 // len(text.encode("utf-8")) + 1):
            out.write(text)
    small = tmp_path / SEEDS[1].name
    small.write_bytes(SEEDS[1].read_bytes())
    done = _jixiao("extract", big, small, "-o", tmp_path / "out.jsonl")
    assert done.returncode == 1
    assert "big.txt: 文件过大（21 MB，上限 20 MB）" in done.stderr and "file too large (21 MB > 20 MB)" in done.stderr
    assert len((tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    # The limit is the caller's (none at all when asked), and ten times as much for a scan.
    from jixiao.ingest import check_input

    size = small.stat().st_size
    with pytest.raises(InputTooLarge, match=f"{small.name}: "):
        check_input(small, max_file_mb=size / 2 / 2**20)
    assert check_input(small, max_file_mb=None) == size
    assert check_input(small.rename(tmp_path / "scan.pdf"), max_file_mb=size / 2 / 2**20) == size


@pytest.mark.slow
def test_a_huge_pdf_page_without_text_is_refused_before_rendering(tmp_path, monkeypatch):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(14400, 14400)  # 5 m square: the most a PDF page may be, in a file of 1 KB
    huge = tmp_path / "huge.pdf"
    pdf.save(str(huge))
    pdf.close()
    assert huge.stat().st_size < 2000

    def rendered(*args, **kwargs):
        raise AssertionError("the page was rendered")

    monkeypatch.setattr(pdfium.PdfPage, "render", rendered)
    with pytest.raises(InputTooLarge, match=r"huge.pdf page 1: .*too large to read by OCR \(14400 × 14400 pt"):
        ingest(huge)


@pytest.mark.slow
def test_a_huge_image_is_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import Image, ImageFile

    huge = tmp_path / "huge.png"
    Image.new("1", (12000, 12000), 1).save(huge)  # 144 million white pixels in a few KB

    def decoded(*args, **kwargs):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)
    with pytest.raises(InputTooLarge, match=r"huge.png: .*page too large to read \(12000 × 12000 pixels"):
        ingest(huge)


def test_an_a3_form_at_300_dpi_is_within_the_limits():
    from jixiao.ingest.ocr import MAX_PIXELS
    from jixiao.ingest.pdf import SCAN_SCALE

    a3_pixels = round(297 / 25.4 * 300) * round(420 / 25.4 * 300)
    a3_points = 842 * 1191 * SCAN_SCALE**2
    assert a3_pixels * 2 < MAX_PIXELS and a3_points * 4 < MAX_PIXELS


@pytest.mark.slow
def test_a_blank_page_in_a_scan_is_a_note_not_a_lost_form(tmp_path, form_page):
    import pypdfium2 as pdfium
    from PIL import Image

    white = Image.new("L", form_page.size, 255)
    tiff = tmp_path / "scan.tif"
    form_page.save(tiff, save_all=True, append_images=[white])
    pdf_path = scanset.write_pdf(scanset.seed_pages(SEEDS[3])[:1], tmp_path / "scan.pdf")
    pdf = pdfium.PdfDocument(str(pdf_path))
    pdf.new_page(595, 842)  # a white A4 page after the form: no text layer, read by OCR, nothing found
    pdf.save(str(tmp_path / "with-blank.pdf"))
    pdf.close()
    for path in (tiff, tmp_path / "with-blank.pdf"):
        (form,) = extract_document(path).forms
        assert len(form.indicators) == 9 and not form.error, path
        (note,) = [n for n in form.notes if n.code == "blank_page"]
        assert f"page 2 of {path.name}: no text found" in note.message
    # A scan of nothing but white pages is still an error, by name.
    blank = tmp_path / "blank.tif"
    white.save(blank, save_all=True, append_images=[white])
    with pytest.raises(InputError, match="blank.tif: .*no text found on any of its 2 pages"):
        ingest(blank)


class _Counting:
    """The OCR engine, counting the pages it is given (not the cells it re-reads alone)."""

    def __init__(self):
        from jixiao.ingest.ocr import engine

        self.engine, self.pages = engine(), 0

    def __call__(self, image, **options):
        self.pages += options.get("use_det", True) is not False
        return self.engine(image, **options)


class _Reader:
    """A PDF's scan-page reader (ocr.PageReader) with the counting engine."""

    def __init__(self, engine: _Counting):
        self.engine = engine

    def ready(self, name: str) -> None:
        pass

    def pages(self, images, count: int):
        from jixiao.ingest.ocr import read_pages

        return read_pages(images, [self.engine])


def _scan_pdf(path, pages):
    """A scanned PDF: each page an image, no text layer."""
    first, *rest = [page.convert("RGB") for page in pages]
    first.save(path, "PDF", resolution=200, save_all=True, append_images=rest)
    return path


@pytest.mark.slow
def test_blank_pages_are_notes_and_never_reach_the_ocr_engine(tmp_path, form_page):
    from PIL import Image, ImageDraw

    from jixiao.ingest.ocr import file_pages
    from jixiao.ingest.pdf import pdf_pages

    white = Image.new("L", form_page.size, 255)
    grey = Image.effect_noise(form_page.size, 6).point(lambda v: v + 110)  # grey paper with scanner noise
    numbered = white.copy()
    ImageDraw.Draw(numbered).text((800, 2200), "3", font=scanset.font(), fill=0)  # a lone page number
    blanks = [white, grey, numbered, white, white, white, white, white]
    pdf = _scan_pdf(tmp_path / "scan.pdf", [form_page, *blanks])
    counting = _Counting()
    pages = pdf_pages(pdf, _Reader(counting))
    assert counting.pages == 1 and pages[0].text.strip() and not any(p.text for p in pages[1:])
    tiff = tmp_path / "scan.tif"
    form_page.save(tiff, save_all=True, append_images=blanks)
    counting = _Counting()
    pages = file_pages(tiff, counting)
    assert counting.pages == 1 and pages[0].text.strip() and not any(p.text for p in pages[1:])
    (form,) = extract_document(pdf).forms
    assert len(form.indicators) == 9 and not form.error
    notes = [n.message for n in form.notes if n.code == "blank_page"]
    assert [f"page {k} of scan.pdf: no text found" in m for k, m in zip(range(2, 10), notes)] == [True] * 8


@pytest.mark.slow
def test_pages_to_read_by_ocr_are_capped_by_name_before_any_is_read(tmp_path, form_page, monkeypatch):
    from PIL import Image

    from jixiao.ingest.ocr import file_pages
    from jixiao.ingest.pdf import MAX_OCR_PAGES, pdf_pages

    assert MAX_OCR_PAGES == 200
    white = Image.new("L", form_page.size, 255)
    monkeypatch.setenv("JIXIAO_MAX_OCR_PAGES", "2")
    three = _scan_pdf(tmp_path / "three.pdf", [form_page, white, form_page, white, form_page])
    tiff = tmp_path / "three.tif"
    form_page.save(tiff, save_all=True, append_images=[white, form_page, white, form_page])
    counting = _Counting()
    for read in (lambda: pdf_pages(three, _Reader(counting)), lambda: file_pages(tiff, counting)):
        with pytest.raises(InputTooLarge, match=r"three\.(pdf|tif): 有 3 页需要 OCR.* / 3 pages need OCR, more than "
                                                r"the 2 read per document: split the file, or raise JIXIAO_MAX_OCR_PAGES"):
            read()
    assert counting.pages == 0  # refused before any page was read
    # blank pages do not count toward the cap
    two = _scan_pdf(tmp_path / "two.pdf", [form_page, white, white, form_page, white])
    pages = pdf_pages(two, _Reader(counting))
    assert counting.pages == 2 and [bool(p.text.strip()) for p in pages] == [True, False, False, True, False]
    monkeypatch.setenv("JIXIAO_MAX_OCR_PAGES", "lots")
    with pytest.raises(InputError, match="JIXIAO_MAX_OCR_PAGES=lots: .* must be a whole number"):
        ingest(two)
