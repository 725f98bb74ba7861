"""Scans and photos to text, offline: RapidOCR (the `jixiao[ocr]` extra, whose wheel ships its
Chinese PP-OCR models). A page is turned straight, its table rules are found and wiped, and
the reader's characters, each with its box and confidence, are laid out by the PDF line
builder: ruled rows as lines of tab-separated cells, the rest line by line, so the readers
see the layouts they know."""

from __future__ import annotations

import os
import platform
import queue
import re
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

from ..config import usable_cpus
from ..errors import InputError, InputTooLarge
from ..text import HAN
from .pdf import (BLANK_INK, MAX_PIXELS, Char, PageText, Rules, check_ocr_pages, ink, max_ocr_pages, no_text_layer,
                  table_bands, table_layout)

MISSING = ("需要 OCR：请安装 pip install 'jixiao[ocr]' / this is a scan: OCR needs the optional extra, "
           "pip install 'jixiao[ocr]'")
MISSING_OPENVINO = ("JIXIAO_OCR_RUNTIME=openvino：请安装 pip install 'jixiao[ocr,openvino]'（OpenVINO 2026 或更新）/ "
                    "the OpenVINO runtime was asked for: pip install 'jixiao[ocr,openvino]' (OpenVINO 2026 or later)")
OPENVINO_SINCE = 2026  # the detector in bfloat16 was measured on it (no faster on 2024, and not checked there)
NO_CUDA = ("JIXIAO_OCR_DEVICE=cuda：没有可用的 CUDA（需要 NVIDIA 显卡和 onnxruntime-gpu），OCR 改用 CPU / no CUDA device "
           "(an NVIDIA GPU and onnxruntime-gpu are needed): OCR runs on the CPU")
RUNTIMES = ("openvino", "onnxruntime")
OCR_SURE = 0.9  # an OCR character read with less confidence than this is in doubt
DEVICES = ("cpu", "cuda")
__all__ = ["MAX_PIXELS", "Engines", "engine", "file_pages", "image_page", "read_pages", "PageReader"]


class PageReader:
    """Reads a PDF's pages with no text layer for `pdf.pdf_pages` (a `pdf.ScanReader`): RapidOCR,
    found when a page first needs it, several pages at once (`Engines`)."""

    def ready(self, name: str) -> None:
        if not installed():
            raise no_text_layer(name, f". {MISSING}")

    def pages(self, images: Iterable[tuple[object, str]], count: int) -> list[PageText]:
        return read_pages(images, Engines().for_pages(count))


def read_pages(images: Iterable[tuple[object, str]], engines: list) -> list[PageText]:
    """Each (image, name) read by `image_page`, in order: with several engines, one page per
    engine at once, and one page more taken from `images` to wait for whichever engine is free
    first (so a long document holds a few decoded pages, not all, and an engine done early
    does not wait for the page before it; a PDF's pages are rendered in this thread, as pdfium
    wants). A page's error is raised in page order, pages after it left unread."""
    if len(engines) == 1:
        return [image_page(image, name, engines[0]) for image, name in images]
    free: queue.SimpleQueue = queue.SimpleQueue()
    for each in engines:
        free.put(each)
    with _lending(engines, free):
        return _read_at_once(images, engines, free)


@contextmanager
def _lending(engines: list, free: queue.SimpleQueue) -> Iterator[None]:
    """The lanes' recognisers may borrow a lane that is free while these pages are read."""
    sharing = [e.text_rec for e in engines if isinstance(getattr(e, "text_rec", None), SurerRecogniser)]
    for recogniser in sharing:
        recogniser.idle = free
    try:
        yield
    finally:
        for recogniser in sharing:
            recogniser.idle = None


def _read_at_once(images: Iterable[tuple[object, str]], engines: list, free: queue.SimpleQueue) -> list[PageText]:

    def read(image, name: str) -> PageText:
        reader = free.get()
        try:
            return image_page(image, name, reader)
        finally:
            free.put(reader)

    out: list[PageText] = []
    pending: deque[Future] = deque()
    pool = ThreadPoolExecutor(len(engines), thread_name_prefix="jixiao-ocr")
    try:
        for image, name in _earlier_errors_first(images, pending):
            pending.append(pool.submit(read, image, name))
            while len(pending) > len(engines):
                out.append(pending.popleft().result())
        out += [future.result() for future in pending]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return out


def _earlier_errors_first(images: Iterable[tuple[object, str]], pending: deque) -> Iterator[tuple[object, str]]:
    """`images`, except that where taking the next page fails (a page too large, a frame that
    will not decode), the pages taken before it are finished first, so that an earlier page's
    error is the one raised, in page order."""
    pages = iter(images)
    while True:
        try:
            page = next(pages)
        except StopIteration:
            return
        except Exception:
            for future in list(pending):
                future.result()
            raise
        yield page


def _setting(variable: str, allowed: tuple[str, ...], default: str, zh: str, en: str) -> str:
    """An OCR setting from the environment, one of `allowed` (`default` when unset); another named."""
    name = os.environ.get(variable, "").strip().lower() or default
    if name and name not in allowed:
        raise InputError(f"{variable}={name}: 未知的 OCR {zh} / unknown OCR {en} (use {' or '.join(allowed)})")
    return name


def runtime_name() -> str:
    """What runs RapidOCR's models on the CPU: JIXIAO_OCR_RUNTIME, else OpenVINO where its wheel
    (the `jixiao[openvino]` extra) is installed on an x86 machine (measured faster than
    onnxruntime on the same models: README, "Scans"), else onnxruntime."""
    return _setting("JIXIAO_OCR_RUNTIME", RUNTIMES, "", "运行库", "runtime") or (
        "openvino" if _openvino_usable() else "onnxruntime")


def _openvino_usable() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64") and _openvino_current()


def _openvino_current() -> bool:
    """Whether OpenVINO OPENVINO_SINCE or later is installed (asked of its metadata: not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("openvino").split(".")[0]) >= OPENVINO_SINCE
    except (PackageNotFoundError, ValueError):
        return False


def device_name() -> str:
    """JIXIAO_OCR_DEVICE: cpu (default) or cuda (onnxruntime-gpu; without a GPU, the CPU and a message)."""
    return _setting("JIXIAO_OCR_DEVICE", DEVICES, "cpu", "设备", "device")


PRECISIONS = ("mixed", "f32")


def precision_name() -> str:
    """JIXIAO_OCR_PRECISION: mixed (default: where the CPU has bfloat16, OpenVINO's detector in
    it, and its recogniser, what it is unsure of read again in float32: `SurerRecogniser`) or
    f32 (float32 alone)."""
    return _setting("JIXIAO_OCR_PRECISION", PRECISIONS, "mixed", "精度", "precision")


def ocr_threads() -> int:
    """JIXIAO_OCR_THREADS (a worker's share of the CPUs, set by workers.py); 0: the runtime's own choice."""
    threads = os.environ.get("JIXIAO_OCR_THREADS", "").strip()
    return int(threads) if threads.isdigit() else 0


def engine():
    """The OCR engine, RapidOCR on JIXIAO_OCR_RUNTIME and JIXIAO_OCR_DEVICE with JIXIAO_OCR_THREADS,
    or None if it is not installed. Any callable of RapidOCR's shape can be passed to
    `image_page`/`file_pages` instead (benchmarks/tesseract.py does)."""
    return _engine(ocr_threads())


def _engine(threads: int, lane: int = 0):
    return _load_engine(runtime_name(), device_name(), threads, lane, precision_name()) if installed() else None


def installed() -> bool:
    """Whether the engine's wheel is installed, found without loading its models. The OpenVINO
    runtime asked for by name and missing (or older than OPENVINO_SINCE) is an InputError saying
    what to install."""
    if find_spec("rapidocr_onnxruntime") is None:
        return False
    if runtime_name() == "openvino" and not _openvino_current():
        raise InputError(MISSING_OPENVINO)
    return True


MAX_LANES = 4  # pages read at once in one process at most: each lane holds an engine (~150 MB)


class Engines:
    """jixiao's own engines for one document (what `ingest` gives `file_pages` and `PageReader`):
    as many as read its pages at once. A page's recogniser runs many small inferences that one
    engine on two threads spreads poorly (1.75x one thread's speed on this 2-core machine), and
    between them the engine's Python holds one core; so where this process has several CPUs for
    OCR (JIXIAO_OCR_THREADS, else all it may run on), each page is read by one of several
    one-thread engines at once (README, "Scans": +24% pages/s), and a lane with no page of its
    own (the last page of a document, or its only one) reads part of another page's text lines
    (`SurerRecogniser`)."""

    def for_pages(self, pages: int) -> list:
        cpus = ocr_threads() or usable_cpus()
        # The same lanes (so the same few engines, loaded once) whatever the page count.
        lanes = min(cpus, MAX_LANES) if device_name() == "cpu" else 1
        if lanes <= 1:
            return [engine()]
        lends = isinstance(getattr(_engine(cpus // lanes, 0), "text_rec", None), SurerRecogniser)
        if pages < lanes and not lends:
            return [engine()] if pages <= 1 else [_engine(cpus // lanes, lane) for lane in range(pages)]
        # A lane with no page of its own lends itself to a page's recogniser.
        return [_engine(cpus // lanes, lane) for lane in range(lanes)]


@lru_cache(maxsize=2 + MAX_LANES)
def _load_engine(runtime: str, device: str, threads: int, lane: int, precision: str):
    """An engine; `lane` tells apart engines of the same settings that read pages at once."""
    if device == "cuda" and not _cuda_ready():
        _say_once(NO_CUDA)
        device = "cpu"
    return _rapidocr(runtime if device == "cpu" else "onnxruntime", device, threads, precision)


def _rapidocr(runtime: str, device: str, threads: int, precision: str):
    """RapidOCR (its onnxruntime wheel: the PP-OCRv4 models and the code around them) with its
    models run by `runtime`, or None if that wheel is not installed."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return None
    # A form's small print read at full size: an A4 page at 200 dpi is 2339 pixels tall, and
    # the default (2000) shrinks it until lone digits such as a 0 score are lost.
    options: dict = {"max_side_len": 2400}
    # In one of a run's worker processes, the engine's threads are that worker's share of the
    # CPUs (JIXIAO_OCR_THREADS, set by workers.py): N engines each using every core only fight.
    if threads > 0 and runtime == "onnxruntime":
        options["intra_op_num_threads"] = threads
    if device == "cuda":
        options.update(det_use_cuda=True, cls_use_cuda=True, rec_use_cuda=True)
    built = _with_float32_preprocessing(RapidOCR(**options))
    built.cal_rec_boxes = word_boxes()
    return openvino_compiled(built, precision) if runtime == "openvino" else built


@lru_cache(maxsize=1)
def word_boxes():
    """RapidOCR's step that places each character of a box on the page (`CalRecBoxes`), its
    answers the same, made faster (`WordBoxes`)."""
    import numpy as np
    from rapidocr_onnxruntime.cal_rec_boxes import CalRecBoxes

    class WordBoxes(CalRecBoxes):
        """The library's step without its deep copies of what it has just built, and its
        corners put in order in plain Python where no corner stands on the centre line
        (`ordered_corners`): 0.036 -> 0.013 s a page, on one core."""

        def __call__(self, imgs, dt_boxes, rec_res):
            placed = []
            for img, box, (text, sure, info) in zip(imgs, dt_boxes, rec_res):
                h, w = img.shape[:2]
                whole = np.array([[0, 0], [w, 0], [w, h], [0, h]])
                chars, boxes, confidences = self.cal_ocr_word_box(text, whole, info)
                boxes = self.reverse_rotate_crop_image(box.copy(), self.adjust_box_overlap(boxes),
                                                       self.get_box_direction(box))
                placed.append([text, sure, boxes, chars, confidences])
            return placed

        @staticmethod
        def order_points(box):
            return ordered_corners(box, CalRecBoxes.order_points)

    return WordBoxes()


def ordered_corners(box: list[list[int]], library) -> list[list[int]]:
    """A character box's four corners as RapidOCR orders them (`library`, its
    `CalRecBoxes.order_points`): where no corner's x is the corners' mean x (every box of an
    upright page), the two left corners and the two right ones, each pair top first, in the
    order top left, top right, bottom right, bottom left; otherwise the library's answer."""
    if len(box) != 4:
        return library(box)
    xs = [x for x, _ in box]
    middle = sum(xs) / 4
    if middle in xs:
        return library(box)
    left = [p for p in box if p[0] < middle]
    right = [p for p in box if p[0] > middle]

    def first(points, pick):
        y = pick(p[1] for p in points)
        return list(next(p for p in points if p[1] == y))

    return [first(left, min), first(right, min), first(right, max), first(left, max)]


def _with_float32_preprocessing(engine):
    """The engine with its detector's input made in one pass, in float32. RapidOCR's own step
    mixes in float64 arrays, so a page became a float64 copy of itself, then a float32 one,
    then a third copy to lay the channels out as the model takes them: 0.05 s of a page's
    1.4 s, on one core, for the same values (`DetectorInput`)."""
    made = engine.text_det.get_preprocess

    def get_preprocess(max_wh):
        step = made(max_wh)
        return DetectorInput(step) if DetectorInput.exact(step) else step

    engine.text_det.get_preprocess = get_preprocess
    return engine


class DetectorInput:
    """RapidOCR's detector step (`DetPreProcess`: resize, (image / 255 - mean) / std, channels
    first), its values computed in float32, written straight into the (1, 3, height, width)
    array the model takes. The same values as the step's where `exact`: with RapidOCR's mean
    and std of 0.5 its float64 steps are exact, so rounding once to float32 gives the same
    numbers; with others (ImageNet's) they would differ in the last place, so the library's
    step is kept."""

    def __init__(self, step):
        self.step = step

    @staticmethod
    def exact(step) -> bool:
        return all(v == 0.5 for v in (*step.mean, *step.std))

    def __getattr__(self, name: str):
        if name == "step":  # not yet set (a copy being made): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.step, name)  # the library step's settings

    def __call__(self, image):
        import numpy as np

        if image.dtype != np.uint8:  # pixels as RapidOCR loads them; anything else, its own step
            return self.step(image)
        resized = self.step.resize(image)
        if resized is None:
            return None
        scale = (self.step.scale / self.step.std).astype("float32")
        shift = (self.step.mean / self.step.std).astype("float32")
        out = np.empty((1, resized.shape[2], *resized.shape[:2]), dtype="float32")
        for channel, plane in enumerate(out[0]):
            np.multiply(resized[:, :, channel], scale[channel], out=plane)
            plane -= shift[channel]
        return out


def openvino_compiled(engine, precision: str):
    """The engine with its models run by OpenVINO (`OpenVINOSession`), each on one thread: in
    float32, or where mixed precision is asked for and the CPU has bfloat16, the detector in
    bfloat16 and the recogniser in bfloat16 with what it is unsure of read again in float32
    (`SurerRecogniser`). The recogniser in bfloat16 alone lost 5 fields of the clean scans of
    003/004 (0.9946 against float32's 0.9985). The detector in bfloat16 (OpenVINO 2026: 0.27 s
    a page against 0.42, one thread; no faster on OpenVINO 2024) finds the same text lines, a
    few drawn a pixel otherwise: on the scan set's variants of all four seeds it accepted more
    forms and no wrong one (README, "OCR speed"). Float32 unless told otherwise: on a CPU with
    bfloat16 OpenVINO runs a model in it by default.

    One thread, whatever the CPUs: on two, OpenVINO's recogniser read a crop a little otherwise
    than on one (a comma's confidence 0.9975976 against 0.9975974), so a page read by a worker
    on one CPU and by one process on two differed; and the CPUs are used by reading pages
    (`Engines`) or documents (workers) at once, which is faster than one page on two threads.
    Not pinned to a core: OpenVINO pins a one-thread model to the first core, where two lanes'
    (or two workers') engines took turns, and `--workers 2` read scans slower than one worker.
    Each engine compiles its own models: lanes sharing one model compiled with a stream per
    lane read the scans 7% slower (its stream threads wait busily while a lane's Python works)."""
    import openvino
    from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
    from rapidocr_onnxruntime.utils import read_yaml, update_model_path

    paths = update_model_path(read_yaml(DEFAULT_CFG_PATH))
    core = openvino.Core()
    models = {stage: core.read_model(paths[stage]["model_path"]) for stage in ("Det", "Cls", "Rec")}

    def session(stage: str, hint: str = "f32") -> OpenVINOSession:
        return OpenVINOSession(core.compile_model(models[stage], "CPU", {
            "INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": "1", "ENABLE_CPU_PINNING": "NO"}))

    bf16 = precision == "mixed" and "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    engine.text_det.infer = session("Det", "bf16" if bf16 else "f32")
    engine.text_cls.infer = session("Cls")
    engine.text_rec.session = session("Rec")
    if bf16:
        engine.text_rec = SurerRecogniser(engine.text_rec, session("Rec", "bf16"))
    return engine


class OpenVINOSession:
    """A model compiled by OpenVINO in the place of RapidOCR's onnxruntime session: called on a
    batch, it returns the model's outputs as a list, as onnxruntime does. The output is the
    request's own buffer, not a copy (a page's detector map is 15 MB): RapidOCR reads it before
    it calls the session again, and each engine (so each thread) has its own sessions."""

    def __init__(self, compiled):
        self.compiled = compiled
        self.request = compiled.create_infer_request()

    def __call__(self, batch):
        self.request.infer([batch])
        return [self.request.get_output_tensor().data]


# A crop the recogniser read in bfloat16 with a character below this is read again in float32.
FLOAT32_BELOW = 0.85


class SurerRecogniser:
    """RapidOCR's recogniser (`text_rec`) in two precisions: every crop read in bfloat16 (1.6x
    float32's speed, one thread, on this CPU), and each crop with a character read below
    FLOAT32_BELOW read again in float32, whose answer stands. bfloat16 alone lost fields (a
    quote, a space between two figures), and on the scan set those reads were unsure of
    themselves: of the 13,136 boxes of the four image variants of the four seeds, 70 were read
    otherwise than in float32; 58 of them had a character below 0.85 (an O for a 0, a quote
    turned, a colon lost, a space), and are read again. Of the other 12, nine differ by a
    space, and ten were above 0.97, the bar before, which read 2,134 crops again against
    1,123 (13% of a page's time) for the same accuracy (a field more right on one variant,
    one fewer on another, of 10,300) and no wrong form accepted at any threshold.
    On a CPU without bfloat16, or with JIXIAO_OCR_PRECISION=f32, the recogniser is float32
    alone.

    While pages are read at once (`read_pages`), `idle` holds the lanes no page holds: each
    pass hands one of them the wider half of its batches (`_shared_read`), so the last page of
    a document, or its only one, is not read on one core while the others wait."""

    def __init__(self, full, fast_session):
        import copy

        self.full = full
        self.fast = copy.copy(full)
        self.fast.session = fast_session
        self.idle: queue.SimpleQueue | None = None

    def __getattr__(self, name: str):
        return getattr(self.full, name)  # the float32 recogniser's settings and session

    def __call__(self, img_list, return_word_box: bool = False):
        crops = [img_list] if not isinstance(img_list, list) else img_list
        answers, took = self._read("fast", crops)
        unsure = [k for k, answer in enumerate(answers) if min(answer[2][-1]) < FLOAT32_BELOW]
        if unsure:
            again, more = self._read("full", [crops[k] for k in unsure])
            for k, answer in zip(unsure, again):
                answers[k] = answer
            took += more
        return (answers if return_word_box else [answer[:2] for answer in answers]), took

    def _read(self, precision: str, crops: list):
        own, idle = getattr(self, precision), self.idle  # once: `read_pages` resets it when done
        lane = _borrowed(idle) if len(crops) > own.rec_batch_num else None
        if lane is None:
            return own(crops, True)
        try:
            return _shared_read(own, getattr(lane.text_rec, precision), crops)
        finally:
            idle.put(lane)


def _borrowed(idle: queue.SimpleQueue | None):
    """An idle lane's engine, taken from `idle` (to be put back), or None if every lane is busy."""
    if idle is None:
        return None
    try:
        return idle.get_nowait()
    except queue.Empty:
        return None


def _shared_read(own, other, crops: list):
    """RapidOCR's recogniser's answers for `crops` (with word boxes), its batches read by `own`
    and by `other`, a recogniser of another lane with the same settings, at once. The batches
    are the ones `own` alone would make (crops ordered by width as RapidOCR orders them, cut
    into rec_batch_num), each given to a recogniser on its own (numpy's sort is not stable, so
    a part given whole could be cut otherwise where widths tie): each crop is read in the same
    company, padded to the same width, so the answers are `own`'s alone. `other` takes the
    widest batches, about half their cost."""
    import numpy as np

    order = np.argsort(np.array([crop.shape[1] / float(crop.shape[0]) for crop in crops]))
    size = own.rec_batch_num
    batches = [list(order[i:i + size]) for i in range(0, len(crops), size)]
    # A batch costs its crops times the width they are padded to (at least RapidOCR's 320 px).
    floor = own.rec_image_shape[2] / own.rec_image_shape[1]
    costs = [len(b) * max(floor, max(crops[k].shape[1] / crops[k].shape[0] for k in b)) for b in batches]
    cut, tail = len(batches) - 1, costs[-1]
    while cut > 1 and tail + costs[cut - 1] <= sum(costs) / 2:
        cut, tail = cut - 1, tail + costs[cut - 1]

    def read(recogniser, part: list[list[int]]) -> tuple[list, float]:
        answers, took = [], 0.0
        for batch in part:
            read_, more = recogniser([crops[k] for k in batch], True)
            answers += read_
            took += more
        return answers, took

    helper = ThreadPoolExecutor(1, thread_name_prefix="jixiao-ocr-help")
    try:
        wide = helper.submit(read, other, batches[cut:])
        narrow, took = read(own, batches[:cut])
        far, more = wide.result()
    finally:
        helper.shutdown(wait=True)
    answers: list = [None] * len(crops)
    for k, answer in zip([k for b in batches for k in b], narrow + far):
        answers[k] = answer
    return answers, took + more


def _cuda_ready() -> bool:
    try:
        import onnxruntime
    except ImportError:
        return False
    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()


_said: set[str] = set()


def _say_once(message: str) -> None:
    """A message on stderr, once in this process (each worker process says it once)."""
    if message not in _said:
        _said.add(message)
        print(message, file=sys.stderr)


def image_page(image, name: str, engine) -> PageText:
    """One page image (a path or a PIL image) read by `engine` (see `engine()`; None: not
    installed, an InputError saying what to install): its text, and its characters with
    their boxes and confidences. The engine is called as RapidOCR is: on the page with
    `use_cls=False, return_word_box=True`, on a cell's crop with `use_det=False, use_cls=False`,
    answering (boxes of (corners, text, confidence), anything); an engine that reads no crop
    alone answers that call with no boxes. Its recogniser, where it has RapidOCR's (`text_rec`),
    reads a page's doubtful boxes again (`_read_again`)."""
    from PIL import Image

    if engine is None:
        raise InputError(f"{name}: {MISSING}")
    if not isinstance(image, Image.Image):
        image = _opened(image, name)
    check_pixels(*image.size, name)
    if ink(image) < BLANK_INK:  # a white page: a note (ingest), and the engine never sees it
        return PageText("", [], 0.0, "px")
    try:
        # A page scanned a little askew is turned straight first, so that its rows are level
        # and its table rules run along pixel rows and columns; the rules are then found and
        # wiped, so that the reader does not take a rule beside a 一 for part of it.
        rules, clean = image_rules(straightened(image))
        # No text-direction classifier: it reads short upright boxes as upside down ("90%" as
        # "%06"); pages are upright once straightened.
        result, _ = engine(clean.convert("RGB"), use_cls=False, return_word_box=True)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    except Exception as exc:  # a corrupt image: name it, the batch goes on
        raise InputError(f"{name}: 图片无法识别 / the image cannot be read ({type(exc).__name__}: {exc})") from None
    if not result:  # a blank page: the document it is part of says so (ingest)
        return PageText("", [], 0.0, "px")
    # Each character with its own box, as a PDF's text layer gives them: a box the reader
    # drew across two cells (their rule wiped) is parted by where its characters stand.
    chars = _read_again(clean, [char for k, box in enumerate(result) for char in _chars(box, k)], engine)
    chars += _unread_cells(clean, rules, chars, engine, len(result))
    text, order, tables = table_layout(chars, _line_text, rules)
    return PageText(text, order, 0.0, "px", tables)


# A box is read a second time when a character of it was read with less confidence than this:
# below OCR_SURE to lift a doubt two reads share; a little above it to catch the confident
# misread (a figure read twice over, "990%" for "90%") that a second read does not repeat.
AGAIN_BELOW = 0.97
AGAIN_PAD = 4  # pixels of white kept around a box read again: its crop is not the detector's
# A character the second read does not find where the first read it: in doubt, whatever the
# first read's confidence (below OCR_SURE, so the field's value is reviewed).
DISPUTED = 0.5


def _read_again(clean, chars: list[Char], engine) -> list[Char]:
    """The page's characters, those of a box the reader was not sure of read a second time:
    the box's characters cropped from the page (not as the detector cropped them) and given to
    the recogniser alone, all such boxes of the page at once. Where both reads give the same
    characters, each keeps the surer of its two confidences: two reads of different crops
    agreeing lift a doubt one read alone leaves. Where they differ, nothing is lifted, and a
    character of the first read that the second does not give (another character there, or
    none) is DISPUTED. The text is always the first read's: a second read is not right for
    being confident (a crop can be read wrong with confidence too); it only bears the first
    out or not. An engine without RapidOCR's recogniser (`text_rec`) is not asked again.

    A character standing over a character of another box (`_read_twice`) is DISPUTED, and no
    second read lifts it: the same ink read twice, a part of a character read as a character
    of its own (示 from the right of 标, 旨 from 指), which a crop of the same ink reads again."""
    from difflib import SequenceMatcher

    import numpy as np

    boxes: dict[int, list[Char]] = {}
    for char in chars:
        if not char.text.isspace():
            boxes.setdefault(char.group, []).append(char)
    twice = _read_twice([c for box in boxes.values() for c in box])
    for char in twice:
        char.confidence = min(_sure(char), DISPUTED)
    recognise = getattr(engine, "text_rec", None)
    doubtful = [box for box in boxes.values() if min(map(_sure, box)) < AGAIN_BELOW]
    if recognise is None or not doubtful:
        return chars
    answers, _ = recognise([np.asarray(_crop(clean, box).convert("RGB")) for box in doubtful], True)
    ghosts = {id(c) for c in twice}
    for box, (text, _, info) in zip(doubtful, answers):
        again = [(c, p) for c, p in zip(_as_printed(text), info[-1]) if not c.isspace()]
        if [c.text for c in box] == [c for c, _ in again]:
            for char, (_, second) in zip(box, again):
                if id(char) not in ghosts:
                    char.confidence = max(_sure(char), float(second))
            continue
        match = SequenceMatcher(None, [c.text for c in box], [c for c, _ in again], autojunk=False)
        for op, i1, i2, _, _ in match.get_opcodes():
            for char in box[i1:i2] if op != "equal" else ():
                char.confidence = min(_sure(char), DISPUTED)
    return chars


def _sure(char: Char) -> float:
    return char.confidence if char.confidence is not None else 1.0


def _crop(clean, box: list[Char]):
    """The part of the page a box's characters stand in, AGAIN_PAD pixels around (y is negated),
    within the page: Pillow fills a crop's part off the page black, which the recogniser reads."""
    return clean.crop((max(0, int(min(c.left for c in box)) - AGAIN_PAD),
                       max(0, int(-max(c.top for c in box)) - AGAIN_PAD),
                       min(clean.width, int(max(c.right for c in box)) + AGAIN_PAD + 1),
                       min(clean.height, int(-min(c.bottom for c in box)) + AGAIN_PAD + 1)))


# Two characters of different boxes on one line overlapping by this share of the narrower's
# width are one mark read twice (on the scan set: only such pairs overlap by as much).
TWICE = 0.25


def _read_twice(chars: list[Char]) -> list[Char]:
    """Of each two characters of different boxes on the same line standing over each other (by
    TWICE of the narrower's width), the one read with less confidence: the detector found the
    same ink twice, once as part of the word it belongs to and once as a box of its own."""
    out = []
    ordered = sorted(chars, key=lambda c: c.left)
    for k, a in enumerate(ordered):
        for b in ordered[k + 1:]:
            if b.left >= a.right:
                break
            overlap = min(a.right, b.right) - b.left
            if (a.group != b.group and min(a.top, b.top) - max(a.bottom, b.bottom) > 0.5 * min(a.height, b.height)
                    and overlap > TWICE * min(a.right - a.left, b.right - b.left)):
                out.append(min((a, b), key=_sure))
    return out


_ROUND_MARKS = {"。", "○", "〇", "°", "º", "O", "o"}


def _unread_cells(clean, rules: Rules, chars: list[Char], engine, group: int) -> list[Char]:
    """Characters for table cells with ink in them but no text found: the detector misses a
    cell holding a lone small mark (a 0 score on a poor scan), so the cell is cropped and
    read on its own. What it reads keeps its own, often low, confidence."""
    import numpy as np

    ink = np.asarray(clean) < 160
    out: list[Char] = []
    for band in table_bands(rules):
        top, bottom = int(-band.high), int(-band.low)
        # A character read counts for every row it stands in by a quarter of its height: the
        # label of a cell merged over two rows stands on the rule between them (for the cells
        # beside it), its ink in both rows; read again, it would be printed twice.
        inside = [(c.left + c.right) / 2 for c in chars
                  if min(c.top, band.high) - max(c.bottom, band.low) > 0.25 * c.height]
        for left, right in zip(band.edges, band.edges[1:]):
            if any(left <= x < right for x in inside):
                continue
            x_from, y_from = int(left) + 5, top + 4
            region = ink[y_from:bottom - 3, x_from:int(right) - 4]
            if region.sum() < 15:
                continue
            ys, xs = np.nonzero(region)
            x0, x1, y0, y1 = x_from + xs.min(), x_from + xs.max() + 1, y_from + ys.min(), y_from + ys.max() + 1
            # A tight crop: white padded around, the recogniser invents characters in it.
            read, _ = engine(clean.crop((x0 - 6, y0 - 6, x1 + 6, y1 + 6)).convert("RGB"), use_det=False, use_cls=False)
            text = _as_printed(str(read[0][0]).strip()) if read else ""
            # A cell holding one small round mark alone: a table's 0, which the recogniser,
            # seeing it without neighbours, calls a full stop or a degree sign.
            text = "0" if text in _ROUND_MARKS else text
            if text:
                step = (x1 - x0) / len(text)
                out += [Char(c, x0 + k * step, x0 + (k + 1) * step, -float(y1), -float(y0), group, float(read[0][1]))
                        for k, c in enumerate(text)]
                group += 1
    return out


def _chars(box, group: int) -> list[Char]:
    """A reader's box as characters; image rows grow downwards, PDF points upwards: flip."""
    quad, text, score = box[:3]
    quads = box[3] if len(box) > 4 and len(box[3]) == len(box[4]) else None
    text = _as_printed("".join(box[4]) if quads else text)
    scores = box[5] if quads and len(box) > 5 and len(box[5]) == len(quads) else [score] * len(text)
    if quads is None:  # no per-character boxes: the characters share the box evenly
        left, right = min(p[0] for p in quad), max(p[0] for p in quad)
        step = (right - left) / max(len(text), 1)
        quads = [[[left + k * step, quad[0][1]], [left + (k + 1) * step, quad[0][1]],
                  [left + (k + 1) * step, quad[2][1]], [left + k * step, quad[2][1]]] for k in range(len(text))]
    return [Char(c, min(p[0] for p in q), max(p[0] for p in q), -max(p[1] for p in q), -min(p[1] for p in q), group,
                 float(conf)) for c, q, conf in zip(text, quads, scores)]


def _as_printed(text: str) -> str:
    """What the reader read, with its usual slips on a Chinese form put right."""
    return _digits(_quotes(text))


_NUMBERISH = re.compile(r"[\dOo.,%]+")


def _digits(text: str) -> str:
    """A box of figures with a letter O in it, as the figures it is: a low-quality scan's
    reader takes a lone 0 score, or the 0 in 100%, for the letter."""
    if _NUMBERISH.fullmatch(text) and (text in ("O", "o") or any(c.isdigit() for c in text)):
        return text.replace("O", "0").replace("o", "0")
    return text


def _line_text(line: list[Char]) -> str:
    """A line of characters: those of one box run on; between boxes, a gap wider than three
    letters' height parts two cells (a tab), a narrower one two words (a space)."""
    out = line[0].text
    for previous, char in zip(line, line[1:]):
        if char.group != previous.group:
            gap = char.left - previous.right
            out += "\t" if gap > 3 * max(previous.height, char.height) else " "
        out += char.text
    return out


_CJK = re.compile(HAN)


def _quotes(text: str) -> str:
    """Straight double quotes in Chinese text as the curly pair a Chinese form prints (OCR
    reads “ and ” as " often): opening, closing, in turn."""
    if '"' not in text or not _CJK.search(text):
        return text
    out, opened = [], False
    for char in text:
        if char == '"':
            char = "”" if opened else "“"
            opened = not opened
        elif char in "“”":
            opened = char == "“"
        out.append(char)
    return "".join(out)


def check_pixels(width: float, height: float, name: str) -> None:
    """Refuse a page of more than MAX_PIXELS pixels, by name, before it is decoded or rendered."""
    if width * height > MAX_PIXELS:
        raise InputTooLarge(f"{name}: 页面过大（{width:.0f} × {height:.0f} 像素，上限 {MAX_PIXELS / 1e6:g} 百万像素），"
                            f"不像一页绩效表 / page too large to read ({width:.0f} × {height:.0f} pixels > "
                            f"{MAX_PIXELS / 1e6:g} million): scan the form at 300 dpi", size=width * height,
                            limit=MAX_PIXELS)


def _opened(path, name: str):
    """An image file opened lazily (its size known, its pixels not yet decoded). Pillow's own
    bomb check is left to ours, which is stricter and says what to do."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(path)
        except Image.DecompressionBombError as exc:
            raise InputTooLarge(f"{name}: 图片过大 / image too large to read ({exc})") from None


def file_pages(path: Path, engine) -> list[PageText]:
    """The pages of an image file read by `engine` (see `engine()`; `Engines()`: jixiao's own,
    several pages at once); a multi-page TIFF's in order, decoded as an engine is free for it.
    Each page's size is checked before its pixels are decoded; a blank page is an empty
    PageText, never seen by the engine; a file with more than `max_ocr_pages()` pages to read
    is refused before any is read."""
    from PIL import Image, UnidentifiedImageError

    if engine is None or isinstance(engine, Engines) and not installed():
        raise InputError(f"{path}: {MISSING}")  # what to install, before whether the file is a good image
    try:
        with _opened(path, str(path)) as image:
            frames = getattr(image, "n_frames", 1)
            names = [f"{path} page {k + 1}" if frames > 1 else str(path) for k in range(frames)]
            if frames > max_ocr_pages():  # blank pages do not count: find them first
                check_ocr_pages(sum(_inked(image, k, names[k]) for k in range(frames)), str(path))
            engines = engine.for_pages(frames) if isinstance(engine, Engines) else [engine]
            pages = read_pages(_frames(image, frames, names), engines)
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, EOFError, ValueError, Image.DecompressionBombError) as exc:
        # A broken or hostile file fails alone, by name; the batch goes on.
        raise InputError(f"{path}: 图片无法识别 / the image cannot be read ({type(exc).__name__}: {exc})") from None
    return pages


def _frames(image, frames: int, names: list[str]) -> Iterator[tuple[object, str]]:
    """Each frame of an image file, its size checked before its pixels are decoded."""
    for k in range(frames):
        image.seek(k)
        check_pixels(*image.size, names[k])
        # a frame of many copied, so that seeking on does not change it; one alone as it is
        yield (image.copy() if frames > 1 else image), names[k]


def _inked(image, k: int, name: str) -> bool:
    image.seek(k)
    check_pixels(*image.size, name)
    return ink(image) >= BLANK_INK


def straightened(image):
    """The page as OCR reads it: greyscale, turned straight. Its field boxes (unit px) are in
    this image's pixels, so the review app shows this same image."""
    from PIL import Image

    page = image.convert("L")
    return page.rotate(skew(page), resample=Image.Resampling.BICUBIC, fillcolor=255)


def skew(page, widest: float = 3.0) -> float:
    """The turn (degrees, anticlockwise, PIL's sense) that makes the page's rows level: the
    one whose row profile is sharpest (rules and text lines make peaks). Searched coarsely on
    a quarter-size copy, then finely on a half-size one."""
    import numpy as np

    coarse = _sharpest_turn(page.reduce(4), np.arange(-widest, widest + 0.01, 0.25))
    # Rounded: a float step's -5e-17 would still resample (blur) a straight page.
    return round(_sharpest_turn(page.reduce(2), np.arange(coarse - 0.2, coarse + 0.201, 0.05)), 2) + 0.0


SKEW_STRIPS = 64  # a strip of a half-size A4 page is 13 pixels wide: a 3° turn moves its ends 0.7 px apart


def _sharpest_turn(image, angles) -> float:
    """Of `angles`, the turn whose row profile has the largest spread. A small turn moves each
    narrow upright strip of the page up or down as a whole, so the profile of a turn is the
    strips' own row sums, each shifted by its distance from the centre (linearly interpolated):
    one pass over the pixels for all the angles, where turning the page for each angle cost
    0.11 s a page (7% of its reading, on one core). Ties go to the smaller turn: a straight page stays
    as it is."""
    import numpy as np

    ink = np.asarray(image)
    height, width = ink.shape
    edges = np.linspace(0, width, SKEW_STRIPS + 1).astype(int)
    sums = np.add.reduceat(ink, edges[:-1], axis=1, dtype=np.int64).T  # strips x rows
    centres = (edges[:-1] + edges[1:]) / 2 - width / 2
    rows = np.arange(height, dtype=np.float64)

    def spread(angle: float) -> float:
        # Turned anticlockwise, a strip right of the centre rises: row y shows what was lower.
        shifts = centres * np.tan(np.radians(angle))
        # Beyond the page, its edge rows go on (white on a page with margins; on a page of one
        # grey, every turn's profile is the same, so it stays as it is).
        profile = sum(np.interp(rows + shift, rows, strip) for shift, strip in zip(shifts, sums))
        return float(np.var(profile))

    return float(max(sorted(angles, key=abs), key=spread))


# A horizontal rule is an unbroken dark stretch over this share of the page's width: a fifth,
# since the rule under a row beside a merged 一级/二级 cell runs only across the columns right of
# it (a declaration's 三级 and 指标值: a third of an A4 page); a line of text is dark in short pieces.
RULE_SHARE = 0.2


def image_rules(page):
    """A straight page image's table rules, and the page with them wiped. A horizontal rule is
    a few pixel rows holding one unbroken dark stretch over RULE_SHARE of the page's width (a
    line of text is dark in many short pieces); between two of them, pixel columns dark all the
    way down are vertical rules. Rules are in the boxes' coordinates (y upwards, so negated)."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(page).copy()
    dark = pixels < 160
    width = dark.shape[1]
    reach = {int(y): run for y in np.flatnonzero(dark.sum(axis=1) > RULE_SHARE * width)
             if (run := _longest_run(dark[y]))[1] - run[0] > RULE_SHARE * width}
    horizontal = _runs(reach)
    vertical = []
    for (top, top_end), (bottom, _) in zip(horizontal, horizontal[1:]):
        inner = dark[top_end + 3:bottom - 2]
        if inner.shape[0] < 8:
            continue
        # A rule a little off plumb (a residual turn over a tall row) is still a rule: each
        # column counts the dark pixels within three of it.
        near = inner.copy()
        for shift in (1, 2, 3):
            near[:, shift:] |= inner[:, :-shift]
            near[:, :-shift] |= inner[:, shift:]
        columns = _runs(np.flatnonzero(near.mean(axis=0) > 0.9))
        vertical += [((a + b) / 2, -bottom, -top) for a, b in columns]
        for a, b in columns:
            pixels[top:bottom + 1, max(0, a - 2):b + 3] = 255
    rules = []
    for a, b in horizontal:
        # A rule's reach: a merged cell's bottom rule is not printed across it (ruled.py), and
        # the label at its middle may stand where the rule of the cells beside it runs.
        left = min(reach[y][0] for y in range(a, b + 1) if y in reach)
        right = max(reach[y][1] for y in range(a, b + 1) if y in reach)
        pixels[max(0, a - 2):b + 3, max(0, left - 2):right + 2] = 255
        rules.append((-(a + b) / 2, float(left), float(right)))
    return Rules(horizontal=rules, vertical=vertical), Image.fromarray(pixels)


def _longest_run(row) -> tuple[int, int]:
    """The longest stretch of dark pixels in a pixel row, gaps of two pixels bridged: (first
    pixel, past its last)."""
    import numpy as np

    bridged = row.copy()
    bridged[1:] |= row[:-1]
    bridged[2:] |= row[:-2]
    edges = np.flatnonzero(np.diff(np.concatenate(([0], bridged.astype(np.int8), [0]))))
    return max(((int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])), key=lambda run: run[1] - run[0],
               default=(0, 0))


def _runs(indices) -> list[tuple[int, int]]:
    """Runs of consecutive indices as (first, last): a rule a few pixels thick is one rule."""
    out: list[tuple[int, int]] = []
    for i in map(int, indices):
        if out and i <= out[-1][1] + 2:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out
