"""Pages read at once (issue 15 item 2): `ocr.read_pages` hands each page to a free engine of
several, keeps page order, takes a page from its source only when an engine has room, or one
page ahead (a PDF's pages are rendered one at a time in the calling thread), and raises the first failing page's
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
        # never more pages taken than the engines have room for, and one waiting
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


class _Slow(_Engine):
    """Reads page 0 only once page 2 has been begun by another engine (or gives up after 5 s)."""

    began_2 = threading.Event()
    waited: list[bool] = []

    def __call__(self, image, **options):
        k = (int(np.flatnonzero(np.asarray(image.convert("L")).min(axis=0) < 128)[0]) - 40) // 40
        if k == 2:
            _Slow.began_2.set()
        elif k == 0:
            _Slow.waited.append(_Slow.began_2.wait(5))
        return super().__call__(image, **options)


def test_an_engine_done_early_goes_on_with_the_next_page_while_a_slow_page_is_read():
    _Slow.began_2.clear()
    _Slow.waited.clear()
    engines = [_Slow(), _Slow()]
    pages = read_pages(_source([], engines), engines)
    assert _Slow.waited == [True] and [p.text for p in pages] == [f"第{k}页" for k in range(PAGES)]
    assert 2 not in next(e for e in engines if 0 in e.read).read  # read while page 0 was


def test_a_page_that_cannot_be_taken_does_not_hide_an_earlier_pages_error():
    engines = [_Engine(fail_on=1), _Engine(fail_on=1)]

    def source():
        for k in range(PAGES):
            if k == 3:
                raise InputError("scan.tif page 4: 页面过大 / the page is too large")
            yield _page(k), f"scan.tif page {k + 1}"

    with pytest.raises(InputError, match=r"scan\.tif page 2: 图片无法识别"):
        read_pages(source(), engines)


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


class _Recogniser:
    """RapidOCR's recogniser's shape: answers (text, mean confidence, word info ending with the
    characters' confidences); what it reads each crop as depends on its session's precision."""

    def __init__(self, reads: dict[str, dict[str, tuple[str, list[float]]]]):
        self.session = "f32"  # stands for its session: what it reads depends on the session's precision
        self.reads, self.rec_batch_num, self.asked = reads, 6, []

    def __call__(self, crops, return_word_box=False):
        precision = self.session
        self.asked.append((precision, list(crops)))
        answers = [(text, sum(c) / len(c), [len(text), [], [], [], c])
                   for text, c in (self.reads[precision][crop] for crop in crops)]
        return (answers if return_word_box else [a[:2] for a in answers]), 0.01


def test_what_bfloat16_reads_unsure_is_read_again_in_float32_and_that_read_stands():
    from jixiao.ingest.ocr import SurerRecogniser

    reads = {"bf16": {"sure": ("项目名称", [0.99, 0.99, 0.98, 0.99]), "unsure": ("9O%", [0.99, 0.62, 0.99]),
                      "blank": ("", [0.0]), "fairly": ("优 良", [0.99, 0.86, 0.99]), "less": ("0 %", [0.99, 0.84, 0.99])},
             "f32": {"sure": ("项目名称", [0.99] * 4), "unsure": ("90%", [0.99, 0.95, 0.99]), "blank": ("", [0.0]),
                     "fairly": ("优良", [0.99, 0.99]), "less": ("0%", [0.99, 0.99])}}
    full = _Recogniser(reads)
    surer = SurerRecogniser(full, "bf16")
    answers, _ = surer(["sure", "unsure", "blank", "fairly", "less"], True)
    assert [a[0] for a in answers] == ["项目名称", "90%", "", "优 良", "0%"]
    assert answers[0][2][-1] == [0.99, 0.99, 0.98, 0.99]  # bfloat16's sure read kept, with its confidences
    assert answers[1][2][-1] == [0.99, 0.95, 0.99]  # float32's read of the unsure crop
    # a character at 0.86 is sure enough, one at 0.84 is not (FLOAT32_BELOW: above 0.85 the two
    # precisions differed mostly by a space)
    assert [(p, c) for p, c in full.asked] == [("bf16", ["sure", "unsure", "blank", "fairly", "less"]),
                                               ("f32", ["unsure", "blank", "less"])]
    assert surer(["unsure"])[0] == [("90%", pytest.approx(0.9767, abs=1e-4))]  # without word boxes, as RapidOCR's
    assert surer.rec_batch_num == 6 and surer.session == "f32"  # the float32 recogniser's settings


class _Batcher:
    """RapidOCR's recogniser's batching (crops ordered by width, cut into rec_batch_num, each
    padded to its widest): notes each batch it reads, by crop id (the crop's first pixel)."""

    rec_batch_num, rec_image_shape = 6, [3, 48, 320]

    def __init__(self):
        self.batches: list[tuple[int, ...]] = []

    def _order(self, crops):
        return np.argsort(np.array([c.shape[1] / float(c.shape[0]) for c in crops]))

    def __call__(self, crops, return_word_box=False):
        order = self._order(crops)
        answers: list = [None] * len(crops)
        for start in range(0, len(crops), self.rec_batch_num):
            batch = order[start:start + self.rec_batch_num]
            self.batches.append(tuple(int(crops[k][0, 0, 0]) for k in batch))
            padded = max(6.67, max(crops[k].shape[1] / 48 for k in batch))
            for k in batch:
                answers[k] = (f"crop {int(crops[k][0, 0, 0])}", 0.99, [1, [], [], [], [round(padded, 2)]])
        return answers, 0.01


def _crops(widths: list[int]) -> list:
    crops = []
    for k, width in enumerate(widths):
        crop = np.full((48, width, 3), 255, dtype=np.uint8)
        crop[0, 0, 0] = k
        crops.append(crop)
    return crops


def test_a_recogniser_shares_its_batches_with_an_idle_lane_and_reads_them_as_alone():
    from jixiao.ingest.ocr import _shared_read

    widths = [40, 900, 120, 60, 700, 300, 310, 50, 1200, 90, 400, 30, 800, 200, 45, 650, 75, 500, 260, 33]
    alone = _Batcher()
    expected, _ = alone(_crops(widths), True)
    own, other = _Batcher(), _Batcher()
    answers, _ = _shared_read(own, other, _crops(widths))
    assert answers == expected  # each crop padded to the same width: the same batches
    assert sorted(own.batches + other.batches) == sorted(alone.batches)
    assert own.batches and other.batches
    # the other lane takes the widest batches, about half the cost
    assert min(widths[k] for b in other.batches for k in b) >= max(widths[k] for b in own.batches for k in b)


def test_a_recogniser_borrows_a_lane_only_while_one_is_idle_and_gives_it_back():
    import queue

    from jixiao.ingest.ocr import SurerRecogniser

    def surer() -> SurerRecogniser:
        recogniser = SurerRecogniser.__new__(SurerRecogniser)
        recogniser.full, recogniser.fast, recogniser.idle = _Batcher(), _Batcher(), None
        return recogniser

    mine, lane = surer(), type("Engine", (), {})()
    lane.text_rec = surer()
    crops = _crops([40 + 37 * k for k in range(20)])
    mine(crops, True)  # no lanes lent: reads alone
    assert mine.fast.batches and not lane.text_rec.fast.batches
    mine.idle = queue.SimpleQueue()
    mine(crops, True)  # every lane busy (none in the queue): alone again
    assert not lane.text_rec.fast.batches
    mine.idle.put(lane)
    answers, _ = mine(crops, True)
    assert lane.text_rec.fast.batches and mine.idle.get_nowait() is lane  # used, and given back
    assert [a[0] for a in answers] == [f"crop {k}" for k in range(20)]


class _OtherOrder(_Batcher):
    """A recogniser that orders the crops it is given otherwise (widest first) before cutting
    them into batches: what an unstable sort can do where widths tie. Given more than a batch,
    it cuts them into other batches than RapidOCR's order does."""

    def _order(self, crops):
        return np.argsort(-np.array([c.shape[1] / float(c.shape[0]) for c in crops]), kind="stable")


def test_shared_batches_are_given_one_at_a_time_so_a_recogniser_cannot_cut_them_otherwise():
    from jixiao.ingest.ocr import _shared_read

    widths = [48, 96, 96, 96, 400, 96, 48, 400, 400, 96, 48, 700, 96, 400, 48, 96, 700, 48, 96, 96]  # ties
    expected, _ = _Batcher()(_crops(widths), True)
    own, other = _OtherOrder(), _OtherOrder()
    answers, _ = _shared_read(own, other, _crops(widths))
    assert answers == expected
    assert all(len(batch) <= _Batcher.rec_batch_num for batch in own.batches + other.batches)
