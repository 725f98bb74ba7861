"""Scans and photos to text, offline: RapidOCR (the `jixiao[ocr]` extra, whose wheel ships its
Chinese PP-OCR models) finds text boxes; the boxes are put back in reading order, a row of
boxes becoming a line and the boxes in it tab-separated cells, so the readers see the
tab-separated layout they know."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import InputError
from .pdftext import Char, layout_text

MISSING = ("需要 OCR：请安装 pip install 'jixiao[ocr]' / this is a scan: OCR needs the optional extra, "
           "pip install 'jixiao[ocr]'")


@lru_cache(maxsize=1)
def _engine():
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    return RapidOCR()


def available() -> bool:
    return _engine() is not None


def image_text(image, name: str) -> tuple[str, float]:
    """The text of one page image (a path, bytes or a PIL image) and its lowest box confidence."""
    engine = _engine()
    if engine is None:
        raise InputError(f"{name}: {MISSING}")
    try:
        result, _ = engine(image)
    except Exception as exc:  # a corrupt image: name it, the batch goes on
        raise InputError(f"{name}: 图片无法识别 / the image cannot be read ({type(exc).__name__}: {exc})") from None
    if not result:
        raise InputError(f"{name}: 图片中没有识别出文字 / no text found in the image")
    # Image rows grow downwards, PDF points upwards: flip, and the PDF line builder serves.
    boxes = [Char(text, min(p[0] for p in quad), max(p[0] for p in quad), -max(p[1] for p in quad),
                  -min(p[1] for p in quad)) for quad, text, _ in result]
    text = layout_text(boxes, lambda line: "\t".join(box.text for box in line))
    return text, min(float(conf) for _, _, conf in result)


def file_text(path: Path) -> str:
    """The text of an image file."""
    return image_text(str(path), str(path))[0]
