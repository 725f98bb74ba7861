"""The extractor matrix: the scan set's text-layer PDFs read by common PDF extractors, each scored.

The seeds' forms printed as PDFs with a text layer (`evals/scanset.py`, variant `text-pdf`) are
read by

- `pdfplumber`: `page.extract_text()` (a line per printed line: cells run together, wrapped
  cells over several lines, merged labels between rows);
- `pdfplumber-layout`: `page.extract_text(layout=True)` (the page's geometry kept in spaces);
- `pdfplumber-tables`: `page.extract_tables()`, every page's tables in one list, as JSON cells
  (a PDF with no ruled table: its text, `extract_text()`, as a user told so by jixiao does);
- `pdftotext` and `pdftotext-layout`: Debian's poppler-utils, default and `-layout`;
- `pypdfium2`: `page.get_textpage().get_text_range()`;

and, for reference, `jixiao-pdf`: the PDFs themselves, read by jixiao's own text-layer reader.
Pages are joined with a line end (pdftotext's form feeds kept as it writes them). Each text goes
to OUT/<extractor>/<seed>.txt (.json for table cells), paired with the seed's gold by stem;
`jixiao extract` and `jixiao eval` run on each folder.

    python evals/extractors.py OUT [--extractors pdfplumber,pdftotext]

prints extractor → forms found / gold forms, field accuracy, rows found."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from formats import RAW, scored, table_line  # noqa: E402
from scanset import build  # noqa: E402


def _plumber(pdf: Path, **options) -> str:
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        return "\n".join(page.extract_text(**options) or "" for page in doc.pages)


def _plumber_tables(pdf: Path) -> tuple[str, str]:
    """Every page's ruled tables as JSON cells; a PDF with no ruled table at all (seed 001 is
    printed without rules) as its pages' text, which is what jixiao's no-tables error tells its
    user to read instead. pdfplumber's text strategies are no substitute on such a page: by
    default they crop every word right of the columns they find, and with `min_words_vertical`
    at 1 they keep the words but cut figures across cells (`815` | `,82` | `6.17`)."""
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        tables = [table for page in doc.pages for table in page.extract_tables()]
        if not tables:
            return ".txt", "\n".join(page.extract_text() or "" for page in doc.pages)
    return ".json", json.dumps(tables, ensure_ascii=False, indent=1)


def _pdftotext(pdf: Path, *options: str) -> str:
    if not shutil.which("pdftotext"):
        raise RuntimeError("pdftotext not found: install Debian's poppler-utils")
    return subprocess.run(["pdftotext", *options, "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True,
                          text=True, encoding="utf-8").stdout


def _pdfium(pdf: Path) -> str:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return "\n".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


EXTRACTORS = {
    "pdfplumber": (".txt", _plumber),
    "pdfplumber-layout": (".txt", lambda pdf: _plumber(pdf, layout=True)),
    "pdfplumber-tables": (".json", _plumber_tables),
    "pdftotext": (".txt", _pdftotext),
    "pdftotext-layout": (".txt", lambda pdf: _pdftotext(pdf, "-layout")),
    "pypdfium2": (".txt", _pdfium),
}


def extract_all(pdfs: Path, out: Path, names: list[str]) -> dict[str, Path]:
    """Every PDF of `pdfs` read by each named extractor: OUT/<extractor>/<stem><ext>."""
    folders = {}
    for name in names:
        suffix, read = EXTRACTORS[name]
        folder = folders[name] = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for pdf in sorted(pdfs.glob("*.pdf")):
            text = read(pdf)
            own, text = text if isinstance(text, tuple) else (suffix, text)  # a reader may choose its file's kind
            (folder / f"{pdf.stem}{own}").write_text(text, encoding="utf-8")
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--extractors", default=",".join(EXTRACTORS))
    args = parser.parse_args()
    names = [n for n in args.extractors.split(",") if n]
    unknown = set(names) - set(EXTRACTORS)
    if unknown:
        parser.error(f"unknown extractors {sorted(unknown)}; choose from {','.join(EXTRACTORS)}")
    pdfs = build(args.out / "pdf", sorted(RAW.glob("*.txt")), ("text-pdf",))["text-pdf"]
    folders = {"jixiao-pdf": pdfs, **extract_all(pdfs, args.out, names)}
    print(f"{'extractor':<24} {'forms':>14} {'fields':>8}")
    for name, folder in folders.items():
        print(table_line(name, scored(folder)), flush=True)


if __name__ == "__main__":
    main()
