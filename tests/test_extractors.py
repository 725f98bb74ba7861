"""Text from common PDF extractors (issue 13, item 3): the text-layer PDFs of two seeds read by
pdfplumber (default and layout) and pdftotext (-layout), read by jixiao and scored against the
seed gold. The whole matrix is `python evals/extractors.py OUT` (README, "Accuracy")."""

from __future__ import annotations

import shutil
import sys

import pytest

from conftest import GOLD, ROOT, SEEDS

sys.path.insert(0, str(ROOT / "evals"))
import extractors  # noqa: E402
from formats import scored  # noqa: E402
from scanset import build  # noqa: E402

pytestmark = pytest.mark.slow  # every test here takes seconds (pytest -m "not slow" leaves them out)

# Field accuracy reached today on these two seeds: a guard against falling back, not the
# issue's 0.97 bar (README, "Accuracy", says where each extractor stands).
FLOORS = {"pdfplumber": 0.975, "pdfplumber-layout": 0.978, "pdftotext-layout": 0.97, "pypdfium2": 0.97,
          "pdftotext": 0.988, "pdfplumber-tables": 0.99}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    pytest.importorskip("pdfplumber")
    out = tmp_path_factory.mktemp("extractors")
    seeds = [s for s in SEEDS if s.name[:3] in ("002", "003")]
    gold = out / "gold"
    gold.mkdir()
    for seed in seeds:
        shutil.copy(GOLD / f"{seed.stem}.json", gold)
    pdfs = build(out / "pdf", seeds, ("text-pdf",))["text-pdf"]
    names = [n for n in FLOORS if shutil.which("pdftotext") or not n.startswith("pdftotext")]
    return {name: scored(folder, gold) for name, folder in extractors.extract_all(pdfs, out, names).items()}


@pytest.mark.parametrize("name", list(FLOORS))
def test_no_form_with_a_wrong_field_is_accepted(matrix, name):
    if name not in matrix:
        pytest.skip("pdftotext not installed (Debian's poppler-utils)")
    report = matrix[name]
    assert report is not None, f"{name}: nothing read"
    print(f"\n{name}: forms {report['forms_found']}/{report['gold_forms']} fields {report['overall']:.4f} "
          f"accepted {report['accepted']} ({report['accepted_wrong']} wrong)")
    assert report["accepted_wrong"] == 0
    assert report["overall"] >= FLOORS[name]


def test_pdfplumber_tables_of_a_pdf_without_ruled_tables_is_its_text(tmp_path):
    # Seed 001 is printed without rules: extract_tables() finds nothing, so the matrix entry does
    # what jixiao's no-tables error tells a user (read the extractor's text), and every form is read.
    pytest.importorskip("pdfplumber")
    seed = next(s for s in SEEDS if s.name.startswith("001"))
    gold = tmp_path / "gold"
    gold.mkdir()
    shutil.copy(GOLD / f"{seed.stem}.json", gold)
    pdfs = build(tmp_path / "pdf", [seed], ("text-pdf",))["text-pdf"]
    folder = extractors.extract_all(pdfs, tmp_path, ["pdfplumber-tables"])["pdfplumber-tables"]
    assert [p.suffix for p in folder.iterdir()] == [".txt"]
    report = scored(folder, gold)
    assert report["forms_found"] == report["gold_forms"] == 2 and report["accepted_wrong"] == 0
