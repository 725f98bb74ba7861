"""Pages read at once (issue 15 item 2): `ocr.read_pages` hands each page to a free engine of
several, keeps page order, takes a page from its source only when an engine has room (a PDF's
pages are rendered one at a time in the calling thread), and raises the first failing page's
error by name. The engines here are stand-ins of RapidOCR's shape that read which page they
were given from a black mark drawn on it."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw

from jixiao.errors import InputError
from jixiao.ingest.ocr import read_pages

PAGES = 7


def _page(k: int) -> Image.Image:
    """A page whose mark's left edge says which page it is."""
    image = Image.new("L", (600, 400), 255)
    ImageDraw.Draw(image).rectangle((40 + 40 * k, 150, 70 + 40 * k, 180), fill=0)
    return image


class _Engine:
    """Reads the page number from the mark; notes how many engines are reading at once and
    fails if the same engine is called by two threads at once (an engine is not thread-safe)."""

    reading = 0
    most = 0
    lock = threading.Lock()

    def __init__(self, fail_on: int | None = None):
        self.busy, self.fail_on, self.read = False, fail_on, []

    def __call__(self, image, **options):
        assert not self.busy, "one engine called by two threads at once"
        self.busy = True
        with _Engine.lock:
            _Engine.reading += 1
            _Engine.most = max(_Engine.most, _Engine.reading)
        try:
            k = (int(np.flatnonzero(np.asarray(image.convert("L")).min(axis=0) < 128)[0]) - 40) // 40
            time.sleep(0.05)
            if k == self.fail_on:
                raise RuntimeError("a broken page")
            self.read.append(k)
            return [[[[100, 10], [200, 10], [200, 40], [100, 40]], f"第{k}页", 0.99]], None
        finally:
            with _Engine.lock:
                _Engine.reading -= 1
            self.busy = False


@pytest.fixture(autouse=True)
def counts():
    _Engine.reading = _Engine.most = 0


def _source(taken: list[int], engines: list[_Engine]):
    for k in range(PAGES):
        done = sum(len(e.read) for e in engines)
        # never more pages taken than the engines have room for
        assert done >= k - len(engines), f"page {k} taken with only {done} read"
        taken.append(k)
        yield _page(k), f"scan.tif page {k + 1}"


def test_pages_are_read_by_several_engines_at_once_in_page_order():
    engines = [_Engine(), _Engine()]
    taken: list[int] = []
    pages = read_pages(_source(taken, engines), engines)
    assert [p.text for p in pages] == [f"第{k}页" for k in range(PAGES)]
    assert _Engine.most == 2  # both engines read at the same time
    assert all(e.read for e in engines) and sorted(engines[0].read + engines[1].read) == list(range(PAGES))


def test_one_engine_reads_the_pages_one_after_another():
    engine = _Engine()
    pages = read_pages(_source([], [engine]), [engine])
    assert [p.text for p in pages] == [f"第{k}页" for k in range(PAGES)] and _Engine.most == 1


def test_the_first_failing_page_is_named_and_no_page_is_taken_long_after_it():
    engines = [_Engine(fail_on=2), _Engine(fail_on=2)]
    taken: list[int] = []
    with pytest.raises(InputError, match=r"scan\.tif page 3: 图片无法识别 / the image cannot be read \(RuntimeError"):
        read_pages(_source(taken, engines), engines)
    assert max(taken) <= 2 + len(engines)  # the rest of the document was left alone
