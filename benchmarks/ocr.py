"""OCR speed against the bare engine, and accuracy, in one run on the same pages: the scan
set's clean variant (evals/scanset.py: seed forms printed on ruled A4 pages at 200 dpi, one
multi-page TIFF per seed; seeds 003 and 004 by default, 13 pages).

For each repeat and each document, in turn (so that the machine's load hits both alike):
the bare engine (rapidocr_onnxruntime's RapidOCR() with its defaults) on the document's
pages, then jixiao's whole path on the file (`extract_paths`, the call `jixiao extract`
makes: decoding, straightening, rules, OCR, layout, reading and checking the forms).
Prints pages/s of each, their ratio per repeat, the median and spread, the load average,
and the field accuracy of jixiao's records against the seed gold (as evals/scanset.py
scores it) with forms found and accepted forms with a wrong field.

`--options` also times each engine option on the same pages (as jixiao gives them to the
engine: straightened, rules wiped), interleaved with the bare engine, and says whether it
reads the same text as jixiao's engine.

`--workers 1,2` also times `jixiao extract --workers N` as a user runs it on a batch (`--copies`
copies of the scans), in turn with the bare engine on the same pages.

    python benchmarks/ocr.py [--seeds 003,004] [--repeats 3] [--options] [--option-pages 4]
                             [--workers 1,2] [--copies 3]

The rendered pages are cached (--cache, default ~/.cache/jixiao/bench-ocr)."""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "evals"))
import scanset  # noqa: E402

from jixiao.evaluate import evaluate  # noqa: E402
from jixiao.ingest import ocr  # noqa: E402
from jixiao.pipeline import extract_paths  # noqa: E402
from jixiao.schema import DocumentRecord  # noqa: E402


def scans(cache: Path, seeds: list[str]) -> list[Path]:
    """The clean scans of the seeds (multi-page TIFFs), rendered once and kept in `cache`
    under a key of the renderer's source and the seeds."""
    key = hashlib.sha256((Path(scanset.__file__).read_bytes() + ",".join(seeds).encode())).hexdigest()[:16]
    folder = cache / key
    wanted = [s for s in sorted(scanset.RAW.glob("*.txt")) if s.name[:3] in seeds]
    paths = [folder / "image" / f"{s.stem}.tif" for s in wanted]
    if not all(p.is_file() for p in paths):
        scanset.build(folder, wanted, ("image",))
    return paths


def frames(path: Path) -> list:
    from PIL import Image

    with Image.open(path) as image:
        out = []
        for k in range(getattr(image, "n_frames", 1)):
            image.seek(k)
            out.append(image.copy())
    return out


def bare_engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()  # its defaults: max side 2000, the angle classifier on, every core


def timed(fn, *args) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def read_bare(engine, pages: list) -> int:
    import numpy as np

    return sum(len(engine(np.asarray(page.convert("RGB")))[0] or []) for page in pages)


def read_jixiao(path: Path):
    return list(extract_paths([path], "rules"))[0]


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}–{max(values):.3f})"


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def accuracy(results: list, seeds: list[str]) -> str:
    """The records scored against the seed gold, as evals/scanset.py scores them."""
    gold = [DocumentRecord.model_validate_json(p.read_text(encoding="utf-8"))
            for p in sorted(scanset.GOLD.glob("*.json")) if p.name[:3] in seeds]
    predicted = [r.record for r in results if r.ok]
    report = evaluate(gold, predicted)
    names = {(g.document, f.project_name) for g in gold for f in g.forms}
    found = round(report.form_recall * len(names))
    wrong_forms = {(Path(m.document).stem, m.form) for m in report.misses}
    accepted = [(Path(r.document).stem, f.project_name) for r in predicted for f in r.forms
                if f.route is not None and f.route.decision == "accepted"]
    gold_names = {(Path(d).stem, n) for d, n in names}
    wrong = sum(a in wrong_forms or a not in gold_names for a in accepted)
    return (f"field accuracy {report.overall:.4f} ({report.fields_right:,}/{report.fields_total:,}), rows right "
            f"{report.row_recall:.3f}, forms found {found}/{len(names)}, accepted {len(accepted)} "
            f"(with a wrong field: {wrong})")


def compare(paths: list[Path], repeats: int, seeds: list[str]) -> None:
    docs = [(path, frames(path)) for path in paths]
    pages = sum(len(f) for _, f in docs)
    bare = bare_engine()
    print(f"{pages} pages ({', '.join(p.name for p in paths)}), {repeats} repeats; jixiao's engine: "
          f"RapidOCR on {ocr.runtime_name()} (precision {ocr.precision_name()}, JIXIAO_OCR_THREADS="
          f"{ocr.ocr_threads() or 'unset'}, pages read at once {len(ocr.Engines().for_pages(pages))}); "
          f"load average at start {load()}")
    read_bare(bare, docs[0][1][:1])  # warm-up: models loaded, first-run costs paid
    for path, _ in docs:  # every engine jixiao reads with (its lanes)
        read_jixiao(path)
    bare_rates, our_rates, ratios, cpu_ratios, outputs = [], [], [], [], []
    for repeat in range(repeats):
        bare_s = our_s = bare_cpu = our_cpu = 0.0
        results = []
        for path, images in docs:
            cpu = time.process_time()
            bare_s += timed(read_bare, bare, images)[0]
            bare_cpu += time.process_time() - cpu
            cpu = time.process_time()
            seconds, result = timed(read_jixiao, path)
            our_cpu += time.process_time() - cpu
            our_s += seconds
            results.append(result)
        bare_rates.append(pages / bare_s)
        our_rates.append(pages / our_s)
        ratios.append(bare_s / our_s)
        cpu_ratios.append(bare_cpu / our_cpu)
        outputs.append([r.record.model_dump_json() if r.ok else r.error for r in results])
        print(f"  repeat {repeat + 1}: bare {pages / bare_s:.3f} pages/s ({bare_cpu / pages:.1f} CPU s a page), jixiao "
              f"{pages / our_s:.3f} pages/s ({our_cpu / pages:.1f} CPU s a page), ratio {bare_s / our_s:.2f}x "
              f"(load {load()})", flush=True)
    print(f"bare engine (rapidocr_onnxruntime defaults): {spread(bare_rates)} pages/s")
    print(f"jixiao extract's path:                      {spread(our_rates)} pages/s")
    print(f"ratio jixiao / bare:                        {spread(ratios)}x")
    print(f"CPU seconds a page, bare / jixiao:          {spread(cpu_ratios)}x (every thread of this process)")
    print(f"records the same in every repeat: {all(o == outputs[0] for o in outputs)}")
    print(f"accuracy ({', '.join(seeds)}, clean 200 dpi scan): {accuracy(results, seeds)}")
    print(f"load average at end {load()}")


OPTIONS = {
    # name: (runtime, RapidOCR keyword arguments beyond jixiao's own, use the angle classifier)
    "onnxruntime, jixiao's settings (before)": ("onnxruntime", {}, False),
    "onnxruntime, 1 intra-op thread": ("onnxruntime", {"intra_op_num_threads": 1}, False),
    "onnxruntime, angle classifier on": ("onnxruntime", {}, True),
    # rapidocr 1.4 sizes a page over 1,500 px to 2,000 px whatever side length is asked for
    "onnxruntime, detector at 2000 px (max side)": ("onnxruntime", {"det_limit_type": "max"}, False),
    "onnxruntime, rec_batch_num 24": ("onnxruntime", {"rec_batch_num": 24}, False),
    # jixiao's OpenVINO engines run each model on one thread (ingest/ocr.py, openvino_compiled)
    "openvino, 1 thread, float32": ("openvino", {}, False),
    "openvino, detector at 2000 px (max side)": ("openvino", {"det_limit_type": "max"}, False),
    "openvino, rec_batch_num 24": ("openvino", {"rec_batch_num": 24}, False),
}


def options(paths: list[Path], count: int) -> None:
    """Each engine option on `count` pages, as jixiao gives them to the engine, interleaved
    with the bare engine on the same pages."""
    import numpy as np
    from rapidocr_onnxruntime import RapidOCR

    pages = [page for path in paths for page in frames(path)][:count]
    prepared = [(np.asarray(page.convert("RGB")), np.asarray(ocr.image_rules(ocr.straightened(page))[1].convert("RGB")))
                for page in pages]
    bare = bare_engine()
    engines = {}
    for name, (runtime, extra, _) in OPTIONS.items():
        built = RapidOCR(max_side_len=2400, **extra)
        # jixiao's OpenVINO path in float32: RapidOCR's code, its models compiled by OpenVINO
        engines[name] = ocr.openvino_compiled(built, "f32") if runtime == "openvino" else built
    reference = ocr.engine()
    seconds = {name: 0.0 for name in ["bare", *OPTIONS]}
    texts: dict[str, list] = {name: [] for name in ["reference", *OPTIONS]}
    for raw, clean in prepared:
        texts["reference"] += [r[1] for r in reference(clean, use_cls=False, return_word_box=True)[0] or []]
        seconds["bare"] += timed(bare, raw)[0]
        for name, (_, _, cls) in OPTIONS.items():
            took, (result, _) = timed(lambda e=engines[name], c=cls: e(clean, use_cls=c, return_word_box=True))
            seconds[name] += took
            texts[name] += [r[1] for r in result or []]
    print(f"engine options on {len(pages)} pages (engine alone, page straightened and rules wiped; load {load()})")
    print(f"  {'bare engine (defaults, on the page as scanned)':<48} {len(pages) / seconds['bare']:.3f} pages/s")
    for name in OPTIONS:
        same = sum(a == b for a, b in zip(texts[name], texts["reference"]))
        print(f"  {name:<48} {len(pages) / seconds[name]:.3f} pages/s, {seconds['bare'] / seconds[name]:.2f}x bare; "
              f"boxes read as jixiao's engine reads them {same}/{len(texts['reference'])}")


def workers(paths: list[Path], copies: int, counts: list[int], repeats: int) -> None:
    """`jixiao extract --workers N` as a user runs it on a batch, a fresh process each time
    (start-up and each worker's engine load included), on `copies` copies of the scans, timed
    in turn with the bare engine reading the same pages in this process: pages/s of each, their
    ratio, and whether every worker count wrote the same lines."""
    import subprocess
    import tempfile

    images = [frames(path) for path in paths]
    pages = copies * sum(len(f) for f in images)
    bare = bare_engine()
    read_bare(bare, images[0][:1])
    rates: dict[str, list[float]] = {"bare": [], **{f"--workers {n}": [] for n in counts}}
    outputs = []
    with tempfile.TemporaryDirectory() as folder:
        for k in range(copies):
            for path in paths:
                (Path(folder) / f"{path.stem}_{k}{path.suffix}").write_bytes(path.read_bytes())
        print(f"a batch: {copies} copies of the scans ({pages} pages, {copies * len(paths)} files); "
              f"jixiao extract a fresh process each (load {load()})")
        for repeat in range(repeats):
            rates["bare"].append(pages / sum(timed(read_bare, bare, f)[0] for _ in range(copies) for f in images))
            for count in counts:
                command = [sys.executable, "-m", "jixiao", "extract", folder, "--workers", str(count)]
                seconds, done = timed(partial(subprocess.run, capture_output=True, check=True), command)
                rates[f"--workers {count}"].append(pages / seconds)
                outputs.append(done.stdout)
            print(f"  repeat {repeat + 1}: " + ", ".join(f"{name} {r[-1]:.3f} pages/s" for name, r in rates.items())
                  + f" (load {load()})", flush=True)
    for name, values in rates.items():
        ratios = [v / b for v, b in zip(values, rates["bare"])]
        print(f"  {name:<12} {spread(values)} pages/s" + ("" if name == "bare" else f", {spread(ratios)}x bare"))
    print(f"  the same lines with every worker count and repeat: {all(o == outputs[0] for o in outputs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="003,004")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--options", action="store_true", help="also time each engine option")
    parser.add_argument("--option-pages", type=int, default=4)
    parser.add_argument("--workers", default="", help="also time `jixiao extract --workers N` for these N (e.g. 1,2)")
    parser.add_argument("--copies", type=int, default=3, help="copies of the scans `--workers` reads")
    parser.add_argument("--no-compare", action="store_true", help="skip the in-process comparison")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "jixiao" / "bench-ocr")
    args = parser.parse_args()
    if not ocr.installed():  # found without loading an engine the comparison would not use
        sys.exit(ocr.MISSING)
    seeds = [s for s in args.seeds.split(",") if s]
    paths = scans(args.cache, seeds)
    if not args.no_compare:
        compare(paths, args.repeats, seeds)
    if args.options:
        options(paths, args.option_pages)
    if args.workers:
        workers(paths, args.copies, [int(n) for n in args.workers.split(",")], args.repeats)


if __name__ == "__main__":
    main()
