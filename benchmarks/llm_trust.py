"""How far a fallible model can be trusted: the LLM back-ends on the 21 seed forms against a
loopback model that slips on its first reading of each form.

    python benchmarks/llm_trust.py [--rates 0,0.02,0.05,0.10] [--seeds 5] [--backends llm,hybrid]
                                   [--extractors pdftotext,pdfplumber]

The model (tests/fakeserver.py's FallibleModel) answers the first request for a form with
schema-valid slips, each field at the rate (a digit changed, a decimal point moved, a
character dropped or doubled, a 二级 label swapped for its neighbour, a value left out; a row
dropped at the rate too), and every later request for it correctly. Per back-end and rate,
over the seeds (one RNG seed per run): final field accuracy against the hand-labelled gold,
forms routed `accepted` that hold a wrong field (must be 0), the share of forms accepted, and
requests per form. With `--extractors`, the seeds are also made text PDFs and read back by
those extractors (evals/extractors.py): layouts the rules reader places less well or, for
pdftotext's one cell per line, only by order."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jixiao.backends import get_backend
from jixiao.config import LLMSettings
from jixiao.evaluate import evaluate, score_document
from jixiao.pipeline import extract_paths
from jixiao.eval_runs import load_gold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fake server is test code, not in the package
from fakeserver import FakeOpenAI, FallibleModel, gold_answerer  # noqa: E402
SEEDS = sorted((ROOT / "fixtures" / "raw").glob("*.txt"))


@dataclass
class Trust:
    fields_right: int = 0
    fields: int = 0
    forms: int = 0
    accepted: int = 0
    accepted_wrong: int = 0
    requests: int = 0
    slips: int = 0

    def __add__(self, other: Trust) -> Trust:
        return Trust(*(a + b for a, b in zip(vars(self).values(), vars(other).values())))

    @property
    def accuracy(self) -> float:
        return self.fields_right / self.fields if self.fields else 0.0


def trust_run(backend: str, rate: float, seed: int, cache_dir: Path | None = None,
              documents: list[Path] = SEEDS) -> Trust:
    """One run of `backend` over the seed forms (or `documents`, the seeds in another
    extractor's text) against a model slipping at `rate`."""
    gold = load_gold(ROOT / "fixtures" / "gold")
    model = FallibleModel(gold_answerer([f.model_dump(mode="json") for g in gold for f in g.forms]), rate, seed)
    with FakeOpenAI(model) as server:
        settings = LLMSettings(base_url=server.base_url, model="fake-model", mode="tools", cache_dir=cache_dir)
        records = [r.record for r in extract_paths(documents, get_backend(backend, settings))]
        requests = server.completions
    report = evaluate(gold, records)
    out = Trust(fields_right=report.fields_right, fields=report.fields_total, requests=requests,
                slips=len(model.slips))
    by_stem = {Path(r.document).stem: r for r in records}
    for g in gold:
        record = by_stem.get(Path(g.document).stem)
        for result in score_document(g, record):
            if result.predicted_index is None or record is None:
                continue
            form = record.forms[result.predicted_index]
            out.forms += 1
            if form.route is not None and form.route.decision == "accepted":
                out.accepted += 1
                out.accepted_wrong += any(not f.right for f in result.fields) or result.gold_index is None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="0,0.02,0.05,0.10")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--backends", default="llm,hybrid")
    parser.add_argument("--extractors", default="", help="also the seeds as text PDFs read back by these")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        texts = {"seeds (as given)": SEEDS, **_extracted(Path(tmp), [n for n in args.extractors.split(",") if n])}
        print(f"{'text':<18} {'back-end':<8} {'slip rate':>9} {'slips':>6} {'field accuracy':>15} "
              f"{'accepted wrong':>15} {'accepted':>9} {'requests/form':>14}")
        for text, documents in texts.items():
            for backend in args.backends.split(","):
                for rate in map(float, args.rates.split(",")):
                    total = Trust()
                    for seed in range(args.seeds):
                        total = total + trust_run(backend, rate, seed, documents=documents)
                    print(f"{text:<18} {backend:<8} {rate:>9.0%} {total.slips:>6} {total.accuracy:>15.4f} "
                          f"{total.accepted_wrong:>15} {total.accepted / total.forms:>9.1%} "
                          f"{total.requests / total.forms:>14.2f}", flush=True)
    print(f"({args.seeds} runs per row over the {len(SEEDS)} seed documents' 21 forms; accepted wrong = forms "
          "routed accepted holding a wrong field)")


def _extracted(out: Path, names: list[str]) -> dict[str, list[Path]]:
    """The seeds rendered as text PDFs and read back by each named extractor."""
    if not names:
        return {}
    sys.path.insert(0, str(ROOT / "evals"))
    import extractors
    from scanset import build

    pdfs = build(out / "pdf", SEEDS, ("text-pdf",))["text-pdf"]
    return {name: sorted(folder.iterdir()) for name, folder in extractors.extract_all(pdfs, out, names).items()}


if __name__ == "__main__":
    main()
