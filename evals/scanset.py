"""The scan test set: every seed form printed as it would be on paper, then scanned.

Each seed's forms are laid out as printed A4 pages at 200 dpi (Debian's fonts-wqy-zenhei,
Pillow): table rows ruled, cells in columns, long texts wrapped inside their cells, a form
too long for a page continued on the next. Each seed becomes

- `text-pdf/<seed>.pdf`: the same pages as a PDF with a text layer (reportlab);
- `image/<seed>.tif`: the pages as a multi-page TIFF;
- `rotated/`, `blurred/`, `jpeg/`: the pages turned 1.5°, blurred (Gaussian, radius 1.2),
  or saved as JPEG at quality 20 (a folder of `<seed>.pN.jpg` pages is not one document, so
  the JPEG pages are put back into a TIFF after the loss).

    python evals/scanset.py OUT [--variants text-pdf,image,rotated,blurred,jpeg] [--seeds 003,004]

builds the set in OUT, runs `jixiao extract` and `jixiao eval` on each variant against the
seed gold, and prints field accuracy and rows found per variant."""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "fixtures" / "raw"
GOLD = ROOT / "fixtures" / "gold"
FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
DPI = 200
WIDTH, HEIGHT = 1654, 2339  # A4 at 200 dpi
MARGIN = 90
SIZE = 24  # px: about 8.6 pt, a form's small print
LEAD = 32
PAD = 8
GAP = 2.5 * SIZE  # the printed gap for a space outside tables
VARIANTS = ("text-pdf", "image", "rotated", "blurred", "jpeg")
_TAG = re.compile(r"</?p>")
_RULE_ROW = re.compile(r"^\s*\|?[\s\-:|]+\|?\s*$")


@dataclass
class Row:
    """One printed row: its cells' wrapped lines, where each cell starts, and whether it is ruled."""

    cells: list[list[str]]
    lefts: list[float]
    ruled: bool
    gap_before: bool = False

    @property
    def height(self) -> int:
        return max((len(c) for c in self.cells), default=1) * LEAD + (2 * PAD if self.ruled else 0)


@lru_cache(maxsize=1)
def font() -> ImageFont.FreeTypeFont:
    if not FONT.is_file():
        sys.exit(f"the scan set needs Debian's fonts-wqy-zenhei ({FONT})")
    return ImageFont.truetype(str(FONT), SIZE)


@lru_cache(maxsize=4096)
def _width(char: str) -> float:
    return font().getlength(char)


def _cells(line: str) -> list[str] | None:
    """A source line as the cells a printed form shows; None for a markdown rule row."""
    if line.lstrip().startswith("|"):
        if _RULE_ROW.match(line):
            return None
        parts = line.strip().strip("|").split("|")
    else:
        parts = line.split("\t")
    return [" ".join(_TAG.sub(" ", p).split()) for p in parts]


def _wrap(text: str, width: float, space: float) -> list[str]:
    lines, line, used = [], "", 0.0
    for char in text:
        w = space if char == " " else _width(char)
        if line and used + w > width:
            lines.append(line.rstrip())
            line, used = "", 0.0
            if char == " ":
                continue
        line += char
        used += w
    return [*lines, line.rstrip()] if line.strip() or not lines else lines


def _columns(block: list[list[str]], room: float) -> list[float]:
    """Column widths for a table block: natural widths, the widest cut until the row fits."""
    count = max(len(r) for r in block)
    natural = [max((sum(map(_width, r[i])) if i < len(r) else 0.0) for r in block) + 2 * PAD for i in range(count)]
    widths = [max(w, 2 * SIZE) for w in natural]
    while sum(widths) > room:
        widest = max(range(count), key=widths.__getitem__)
        others = sum(widths) - widths[widest]
        widths[widest] = max(3 * SIZE, room - others, widths[widest] * 0.8)
        if all(w <= 3 * SIZE for w in widths):
            break
    return widths


def layout(text: str) -> list[Row]:
    """A form's text as printed rows: lines with several cells are ruled table rows."""
    rows: list[Row] = []
    blocks: list[list[list[str]]] = [[]]
    for line in text.split("\n"):
        cells = _cells(line) if line.strip() else []
        if cells is None:
            continue
        if not any(cells):
            blocks.append([])
        else:
            blocks[-1].append(cells)
    room = WIDTH - 2 * MARGIN
    for block in filter(None, blocks):
        table = any(sum(1 for c in r if c) >= 2 for r in block)
        widths = _columns(block, room) if table else [room]
        lefts = [MARGIN + sum(widths[:i]) for i in range(len(widths))]
        for k, cells in enumerate(block):
            if not table:
                cells = [" ".join(c for c in cells if c)]
            space = _width(" ") if table else GAP
            wrapped = [_wrap(c, widths[i] - 2 * PAD, space) if c else [] for i, c in enumerate(cells)]
            rows.append(Row(wrapped, lefts[:len(cells)], ruled=table, gap_before=k == 0 and bool(rows)))
    return rows


def pages(rows: list[Row]) -> list[list[tuple[int, Row]]]:
    """Rows placed on pages: (top, row), a row that does not fit starting the next page."""
    out: list[list[tuple[int, Row]]] = [[]]
    y = MARGIN
    for row in rows:
        y += LEAD if row.gap_before else 0
        if y + row.height > HEIGHT - MARGIN and out[-1]:
            out.append([])
            y = MARGIN
        out[-1].append((y, row))
        y += row.height
    return out


def _rules(page: list[tuple[int, Row]]):
    """The table rules of a page: (x0, y0, x1, y1) lines around and between ruled cells."""
    for top, row in page:
        if not row.ruled:
            continue
        bottom = top + row.height
        right = WIDTH - MARGIN
        yield MARGIN, top, right, top
        yield MARGIN, bottom, right, bottom
        for x in [*row.lefts, right]:
            yield x, top, x, bottom


def _texts(page: list[tuple[int, Row]]):
    """(x, y, text) of every printed piece of text on a page, y its top. Outside tables a
    space is printed as a gap: a space in extracted text stands for the gap between two
    printed cells."""
    for top, row in page:
        pad = PAD if row.ruled else 0
        for cell, left in zip(row.cells, row.lefts):
            for k, line in enumerate(cell):
                x = left + pad
                for piece in (line.split() if not row.ruled else [line] if line else []):
                    yield x, top + pad + k * LEAD, piece
                    x += sum(map(_width, piece)) + GAP


def draw(page: list[tuple[int, Row]]) -> Image.Image:
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    pen = ImageDraw.Draw(image)
    for x0, y0, x1, y1 in _rules(page):
        pen.line((x0, y0, x1, y1), fill=0, width=2)
    for x, y, line in _texts(page):
        pen.text((x, y + (LEAD - SIZE) // 2), line, font=font(), fill=0)
    return image


def write_pdf(doc_pages: list[list[tuple[int, Row]]], out: Path, turned: bool = False) -> Path:
    """The pages as a PDF with a text layer: the same text and rules, in points. `turned`: each
    page stored landscape, its content drawn on its side and /Rotate 90 set, as some tools save
    a page: shown upright, as the others."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("wqy", str(FONT), subfontIndex=0))
    k = 72 / DPI
    pdf = canvas.Canvas(str(out), pagesize=(HEIGHT * k, WIDTH * k) if turned else (WIDTH * k, HEIGHT * k))
    for page in doc_pages:
        if turned:  # (x, y) shown upright is stored at (HEIGHT - y, x): turned a quarter anticlockwise
            pdf.transform(0, 1, -1, 0, HEIGHT * k, 0)
        pdf.setLineWidth(2 * k)
        for x0, y0, x1, y1 in _rules(page):
            pdf.line(x0 * k, (HEIGHT - y0) * k, x1 * k, (HEIGHT - y1) * k)
        pdf.setFont("wqy", SIZE * k)
        for x, y, line in _texts(page):
            baseline = y + (LEAD - SIZE) // 2 + SIZE * 0.86
            pdf.drawString(x * k, (HEIGHT - baseline) * k, line)
        pdf.showPage()
    pdf.save()
    if turned:
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(out.read_bytes())
        for page in document:
            page.set_rotation(90)
        document.save(str(out))
        document.close()
    return out


def degrade(image: Image.Image, how: str) -> Image.Image:
    if how == "rotated":
        return image.rotate(1.5, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    if how == "blurred":
        return image.filter(ImageFilter.GaussianBlur(1.2))
    if how == "jpeg":
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=20)
        lossy = Image.open(io.BytesIO(buffer.getvalue())).convert("L")
        lossy.info.clear()  # JPEG's own keys (jfif, progression…) are not TIFF tags
        return lossy
    return image.copy()


def seed_pages(seed: Path) -> list[list[tuple[int, Row]]]:
    """The printed pages of every form of a seed, each form starting on a new page."""
    from jixiao.ingest import ingest
    from jixiao.segment import segment

    return [page for chunk in segment(ingest(seed)) for page in pages(layout(chunk.text))]


def build(out: Path, seeds: list[Path], variants: tuple[str, ...] = VARIANTS) -> dict[str, Path]:
    """The test set's folders, one per variant, each with one document per seed."""
    folders = {v: out / v for v in variants}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        doc_pages = seed_pages(seed)
        if "text-pdf" in folders:
            write_pdf(doc_pages, folders["text-pdf"] / f"{seed.stem}.pdf")
        images = [draw(p) for p in doc_pages] if set(folders) - {"text-pdf"} else []
        for variant in [v for v in folders if v != "text-pdf"]:
            shown = [degrade(i, variant) for i in images]
            shown[0].save(folders[variant] / f"{seed.stem}.tif", save_all=True, append_images=shown[1:])
    return folders


def extracted(folder: Path) -> Path:
    """`jixiao extract` on a variant's folder: the JSONL of its records, beside the folder."""
    predictions = folder.with_suffix(".jsonl")
    extract = subprocess.run([sys.executable, "-m", "jixiao", "extract", str(folder), "-o", str(predictions)],
                             capture_output=True, text=True)
    if extract.returncode not in (0, 1):
        raise RuntimeError(f"jixiao extract {folder} failed: {extract.stderr[-2000:]}")
    return predictions


def score(folder: Path, gold: Path = GOLD) -> dict:
    """`jixiao extract` on a variant's folder, then `jixiao eval` against the gold: the report."""
    predictions = extracted(folder)
    evaluated = subprocess.run([sys.executable, "-m", "jixiao", "eval", "score", "--gold", str(gold), "--json",
                                str(predictions)], capture_output=True, text=True, check=True)
    return json.loads(evaluated.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default="", help="seed numbers, e.g. 003,004 (default: all)")
    args = parser.parse_args()
    wanted = [s for s in args.seeds.split(",") if s]
    seeds = [s for s in sorted(RAW.glob("*.txt")) if not wanted or s.name[:3] in wanted]
    gold = args.out / "gold"  # the chosen seeds' gold, as labelled
    gold.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        (gold / f"{seed.stem}.json").write_bytes((GOLD / f"{seed.stem}.json").read_bytes())
    folders = build(args.out, seeds, tuple(args.variants.split(",")))
    print(f"{'variant':<10} {'fields':>8} {'rows':>6} {'forms':>6}")
    for variant, folder in folders.items():
        r = score(folder, gold)
        print(f"{variant:<10} {r['overall']:>8.4f} {r['row_recall']:>6.3f} {r['form_recall']:>6.3f}")


if __name__ == "__main__":
    main()
