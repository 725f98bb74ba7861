"""Calibration: is confidence as sure as the reading is right, and what does routing cost?

For each variant of the scan set (evals/scanset.py: the PDF with a text layer, page images,
pages turned 1.5°, blurred, JPEG at quality 20) and for noisy text variants of the seeds
(jixiao.noise, as `jixiao eval --noise` makes them): the expected calibration error (ECE) of
form and field confidence, and the review trade-off at the routing threshold and a few others:
forms accepted, forms accepted with a wrong field, fields wrong in accepted forms.

    python evals/calibration.py OUT [--variants text-pdf,image,...,noisy] [--seeds 003,004]
                                    [--noisy 10] [--thresholds 0.6,0.7,0.8,0.9] [--reuse] [--wrong]

builds the set in OUT (as evals/scanset.py does), reads each variant with `jixiao extract`
(`--reuse`: a variant whose OUT/<variant>.jsonl exists is not read again) and prints one line
per variant. A form is routed at each threshold as `jixiao` routes it (route.py), from the
confidences its record carries. `--wrong` also lists, for the noisy variants, each form accepted at
the routing threshold with a wrong field: the field, gold → read, and the slip of jixiao.noise
that made it (a digit changed, a line lost, …), then a count by field and slip."""

from __future__ import annotations

import argparse
import re
import sys
import zlib
from collections import Counter
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scanset  # noqa: E402

from jixiao.compare import pair_rows  # noqa: E402
from jixiao.confidence import one_character  # noqa: E402
from jixiao.evaluate import ece, score_document  # noqa: E402
from jixiao.provenance import OCR_SURE  # noqa: E402
from jixiao.validate.confirm import confirmed  # noqa: E402
from jixiao.validate.values import Values  # noqa: E402
from jixiao.noise import Slip, noisy  # noqa: E402
from jixiao.route import DEFAULT_THRESHOLD, route  # noqa: E402
from jixiao.schema import DocumentRecord, FieldResult, row_index  # noqa: E402
from jixiao.text import HAN, compact  # noqa: E402

THRESHOLDS = (0.6, 0.7, DEFAULT_THRESHOLD, 0.9)


def noisy_folder(out: Path, seeds: list[Path], count: int) -> Path:
    """`count` noisy copies of each seed's text (named `<stem>~noiseK`, as `jixiao eval --noise`)."""
    folder = out / "noisy"
    folder.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        text = seed.read_text(encoding="utf-8")
        for k in range(1, count + 1):
            name = noisy_name(seed, k)
            (folder / name).write_text(noisy(text, seed=zlib.crc32(name.encode())), encoding="utf-8")
    return folder


def noisy_name(seed: Path, k: int) -> str:
    return f"{seed.stem}~noise{k}{seed.suffix}"


@lru_cache(maxsize=None)
def slips_of(seed: Path, name: str) -> list[Slip]:
    """The corruptions noisy_folder applied to make the copy `name` of `seed` (a form's wrong
    fields ask for them, a copy's forms the same)."""
    slips: list[Slip] = []
    noisy(seed.read_text(encoding="utf-8"), seed=zlib.crc32(name.encode()), slips=slips)
    return slips


_HAN_RUN = re.compile(HAN + "+")
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _printed(value: object, lines: tuple[str, ...]) -> bool:
    """Whether `value` is printed in `lines` (a number as any of its printed forms)."""
    if value is None or value == "":
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return any(abs(float(n.replace(",", "")) - value) < 1e-9 for line in lines for n in _NUMBER.findall(line))
    return compact(str(value)) in compact("".join(lines))


def cause(field: FieldResult, row_name: str | None, slips: list[Slip]) -> str:
    """The kind of the slip that made a wrong field: the one whose new text prints the value
    read (and its old text did not), else whose old text printed the gold value, else that
    touched the field's row."""
    for test in (lambda s: _printed(field.predicted, s.after) and not _printed(field.predicted, s.before),
                 lambda s: _printed(field.gold, s.before),
                 lambda s: _printed(row_name, s.before + s.after)):
        kind = next((s.kind for s in slips if test(s)), None)
        if kind:
            return kind
    return "?"


def wrong_accepted(predicted: list[DocumentRecord], gold: dict[str, DocumentRecord], seeds: list[Path],
                   threshold: float = DEFAULT_THRESHOLD) -> Counter:
    """Print each noisy form accepted at `threshold` with a wrong field (the field, gold → read,
    the slip that made it); (field, slip kind) → how many."""
    by_stem = {s.stem: s for s in seeds}
    count: Counter = Counter()
    for doc, truth, result, form in scored_forms(predicted, gold):
        if form is None or route(form.model_copy(deep=True), threshold).route.decision != "accepted":
            continue
        slips = slips_of(by_stem[seed_stem(doc)], Path(doc.document).name)
        if result.gold_index is None:
            print(f"  {doc.document} · {result.form}: read as a form the gold has not")
            count["(a form not in the gold)", cause(FieldResult(field="project_name", path="project_name",
                                                                predicted=form.project_name, right=False),
                                                    "".join(_HAN_RUN.findall(form.project_name or "")), slips)] += 1
            continue
        rows = truth.forms[result.gold_index].indicators
        for x in result.fields:
            if x.right:
                continue
            i = row_index(x.path)
            kind = cause(x, rows[i].name if i is not None else None, slips)
            count[x.field, kind] += 1
            print(f"  {doc.document} · {result.form}: {x.path} {x.gold!r} → {x.predicted!r} ({kind})")
    return count


def records(path: Path) -> list[DocumentRecord]:
    return [DocumentRecord.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def seed_stem(doc: DocumentRecord) -> str:
    """The stem of the seed a document was read from: a noisy copy `<stem>~noiseK` is of `<stem>`."""
    return Path(doc.document).stem.split("~")[0]


def scored_forms(predicted: list[DocumentRecord], gold: dict[str, DocumentRecord]):
    """(document, its gold, gold-scored form result, predicted form or None) for every gold
    form and every predicted form no gold form paired with; a document pairs with the gold of
    its seed's stem."""
    for doc in predicted:
        truth = gold.get(seed_stem(doc))
        if truth is None:
            continue
        for result in score_document(truth, doc):
            yield doc, truth, result, doc.forms[result.predicted_index] if result.predicted_index is not None else None


BINS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, OCR_SURE)


def ocr_curve(predicted: list[DocumentRecord], gold: dict[str, DocumentRecord]) -> dict:
    """How often a field read by OCR is right, by the reader's confidence in its least sure
    character (below OCR_SURE), for values of one character and the others, leaving out the
    values the form's arithmetic confirms: what confidence.OCR_CURVE and LONE_CURVE are set from.
    (bin, lone) → [fields, right]."""
    table: dict = {}
    for _, truth, result, form in scored_forms(predicted, gold):
        if form is None or result.gold_index is None:
            continue
        gold_form = truth.forms[result.gold_index]
        rows = pair_rows(gold_form.indicators, form.indicators if form.kind == gold_form.kind else [])
        sure = confirmed(Values(form))
        for x in result.fields:
            path = x.path
            if (i := row_index(path)) is not None:
                j = rows.get(i)
                if j is None:
                    continue
                path = f"indicators[{j}]{path[path.index(']') + 1:]}"
            box = form.field_boxes.get(path)
            if box is None or box.confidence is None or box.confidence >= OCR_SURE or path in sure:
                continue
            low = max(b for b in BINS if b <= box.confidence)
            cell = table.setdefault((low, one_character(x.predicted)), [0, 0])
            cell[0] += 1
            cell[1] += x.right
    return table


def calibration(predicted: list[DocumentRecord], gold: dict[str, DocumentRecord],
                thresholds: tuple[float, ...] = THRESHOLDS) -> dict:
    """ECE of form and field confidence, and per threshold: forms accepted, accepted with a
    wrong field, fields wrong in accepted forms."""
    pairs = [(result, form) for _, _, result, form in scored_forms(predicted, gold)]
    forms = [(r, f) for r, f in pairs if f is not None and f.confidence is not None]
    form_right = [r.gold_index is not None and all(x.right for x in r.fields) for r, _ in forms]
    fields = [x for r, _ in forms for x in r.fields if x.confidence is not None]
    out = {"forms": len([r for r, _ in pairs if r.gold_index is not None]),
           "form_ece": ece([f.confidence for _, f in forms], form_right),
           "field_ece": ece([x.confidence for x in fields], [x.right for x in fields]), "at": {}}
    for t in thresholds:
        accepted = [(r, right) for (r, f), right in zip(forms, form_right)
                    if route(f.model_copy(deep=True), t).route.decision == "accepted"]
        out["at"][t] = {"accepted": len(accepted), "wrong": sum(not right for _, right in accepted),
                        "wrong_fields": sum(not x.right for r, _ in accepted for x in r.fields)}
    return out


def line(name: str, c: dict, thresholds: tuple[float, ...]) -> str:
    cells = "  ".join(f"{c['at'][t]['accepted']:>3} ({c['at'][t]['wrong']}, {c['at'][t]['wrong_fields']})"
                      for t in thresholds)
    return f"{name:<10} {c['forms']:>5} {c['form_ece']:>9.3f} {c['field_ece']:>10.3f}   {cells}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--variants", default=",".join((*scanset.VARIANTS, "noisy")))
    parser.add_argument("--seeds", default="", help="seed numbers, e.g. 003,004 (default: all)")
    parser.add_argument("--noisy", type=int, default=10, help="noisy copies of each seed's text")
    parser.add_argument("--thresholds", default=",".join(map(str, THRESHOLDS)))
    parser.add_argument("--reuse", action="store_true", help="keep a variant's OUT/<variant>.jsonl if it exists")
    parser.add_argument("--wrong", action="store_true", help="also list the noisy forms accepted with a wrong "
                        "field, each field with the slip that made it")
    parser.add_argument("--curve", action="store_true", help="also print how often OCR'd fields are right by the "
                        "reader's confidence, over the variants read")
    args = parser.parse_args()
    wanted = [s for s in args.seeds.split(",") if s]
    seeds = [s for s in sorted(scanset.RAW.glob("*.txt")) if not wanted or s.name[:3] in wanted]
    gold = {s.stem: DocumentRecord.model_validate_json((scanset.GOLD / f"{s.stem}.json").read_text(encoding="utf-8"))
            for s in seeds}
    thresholds = tuple(float(t) for t in args.thresholds.split(","))
    variants = [v for v in args.variants.split(",") if v]
    print(f"{'variant':<10} {'forms':>5} {'ECE forms':>9} {'ECE fields':>10}   "
          + "  ".join(f"at {t:g}: accepted (wrong forms, wrong fields)" if k == 0 else f"at {t:g}"
                      for k, t in enumerate(thresholds)))
    table: dict = {}
    for variant in variants:
        folder = args.out / variant
        jsonl = folder.with_suffix(".jsonl")
        if not (args.reuse and jsonl.is_file()):
            if variant == "noisy":
                noisy_folder(args.out, seeds, args.noisy)
            else:
                scanset.build(args.out, seeds, (variant,))
            scanset.extracted(folder)
        read = records(jsonl)
        print(line(variant, calibration(read, gold, thresholds), thresholds), flush=True)
        if args.wrong and variant == "noisy":
            count = wrong_accepted(read, gold, seeds)
            print(f"  wrong fields in forms accepted at {DEFAULT_THRESHOLD:g}, by field and slip:")
            for (field, kind), n in count.most_common():
                print(f"    {n:>3}  {field:<34} {kind}")
        if args.curve and variant != "noisy":
            for key, (n, right) in ocr_curve(read, gold).items():
                curve = table.setdefault(key, [0, 0])
                curve[0] += n
                curve[1] += right
    if args.curve:
        print("\nOCR fields not confirmed, by the reader's confidence in their least sure character: right / read")
        for lone in (False, True):
            cells = [f"[{low:g}, {next((b for b in BINS if b > low), OCR_SURE):g}) {table[(low, lone)][1]}/"
                     f"{table[(low, lone)][0]}" for low in BINS if (low, lone) in table]
            print(f"  {'one character' if lone else 'longer values'}: " + "  ".join(cells))


if __name__ == "__main__":
    main()
