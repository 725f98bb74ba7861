import codecs

import pytest

from jixiao.errors import InputError
from jixiao.ingest import ingest, ingest_text, iter_paths

SAMPLE = "财政项目支出绩效自评表\n项目名称 居委办公经费\n"


@pytest.mark.parametrize("encoding, prefix", [
    ("utf-8", b""),
    ("utf-8", codecs.BOM_UTF8),
    ("gb18030", b""),
    ("gbk", b""),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-16-le", b""),
    ("utf-16-be", b""),
])
def test_encodings_decode_to_the_same_text(tmp_path, encoding, prefix):
    path = tmp_path / "doc.txt"
    path.write_bytes(prefix + SAMPLE.encode(encoding))
    doc = ingest(path)
    assert doc.raw_text == SAMPLE
    assert doc.name == "doc.txt"


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_line_ends_are_normalised(tmp_path, newline):
    path = tmp_path / "doc.txt"
    path.write_bytes(SAMPLE.replace("\n", newline).encode("gb18030"))
    assert ingest(path).raw_text == SAMPLE


def test_empty_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"  \n")
    with pytest.raises(InputError, match="empty.txt.*empty"):
        ingest(path)


def test_binary_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "scan.txt"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="scan.txt.*binary"):
        ingest(path)


def test_undecodable_text_is_an_error(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\x81\x30" * 50 + b"\xff\xfe\xfd" * 50)
    with pytest.raises(InputError, match="bad.txt"):
        ingest(path)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        ingest(tmp_path / "nope.txt")


def test_page_numbers_and_counters_are_blanked_with_offsets_kept():
    text = "目标：构建“阅读+学习+生 344/1000 活+提升”空间\n- 1 -\n产出指标\n第 2 页\n"
    doc = ingest_text(text)
    assert len(doc.text) == len(doc.raw_text)
    assert "344/1000" not in doc.text and "- 1 -" not in doc.text and "第 2 页" not in doc.text
    assert doc.text.index("产出指标") == doc.raw_text.index("产出指标")
    assert [doc.raw_text[s.start:s.end] for s in doc.furniture] == ["344/1000", "- 1 -", "第 2 页"]


def test_a_line_repeated_beside_page_numbers_is_a_running_header():
    page = "某某街道 2023 年度绩效自评报告\n{body}\n- {n} -\n"
    text = "".join(page.format(body=f"第{n}段正文内容", n=n) for n in range(1, 4))
    doc = ingest_text(text)
    assert "某某街道" not in doc.text
    assert "第2段正文内容" in doc.text


def test_folders_expand_to_the_files_jixiao_reads(tmp_path):
    (tmp_path / "b.txt").write_text("x")
    (tmp_path / "a.md").write_text("x")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
    (tmp_path / "d.JPG").write_bytes(b"\xff\xd8")  # read only to say it needs OCR
    (tmp_path / "e.docx").write_bytes(b"PK")
    (tmp_path / "f.doc").write_bytes(b"\xd0\xcf")  # read only to say: save it as .docx
    (tmp_path / "g.csv").write_text("x")
    (tmp_path / "h.zip").write_bytes(b"PK")
    assert [p.name for p in iter_paths([tmp_path])] == ["a.md", "b.txt", "c.pdf", "d.JPG", "e.docx", "f.doc"]
