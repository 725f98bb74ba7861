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
