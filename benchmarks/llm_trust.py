"""How far a fallible model can be trusted: the LLM back-ends on the 21 seed forms against a
loopback model that slips on its first reading of each form.

    python benchmarks/llm_trust.py [--rates 0.02,0.05,0.10] [--seeds 5] [--backends llm,hybrid]

The model (jixiao.testing.FallibleModel) answers the first request for a form with
schema-valid slips, each field at the rate (a digit changed, a decimal point moved, a
character dropped or doubled, a 二级 label swapped for its neighbour, a value left out; a row
dropped at the rate too), and every later request for it correctly. Per back-end and rate,
over the seeds (one RNG seed per run): final field accuracy against the hand-labelled gold,
forms routed `accepted` that hold a wrong field (must be 0), the share of forms accepted, and
requests per form."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from jixiao.backends import get_backend
from jixiao.config import LLMSettings
from jixiao.evaluate import evaluate, score_document
from jixiao.pipeline import extract_paths
from jixiao.runs import load_gold
from jixiao.testing import FakeOpenAI, FallibleModel, gold_answerer

ROOT = Path(__file__).resolve().parents[1]
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


def trust_run(backend: str, rate: float, seed: int, cache_dir: Path | None = None) -> Trust:
    """One run of `backend` over the seed forms against a model slipping at `rate`."""
    gold = load_gold(ROOT / "fixtures" / "gold")
    model = FallibleModel(gold_answerer([f.model_dump(mode="json") for g in gold for f in g.forms]), rate, seed)
    with FakeOpenAI(model) as server:
        settings = LLMSettings(base_url=server.base_url, model="fake-model", mode="tools", cache_dir=cache_dir)
        records = [r.record for r in extract_paths(SEEDS, get_backend(backend, settings))]
        requests = server.completions
    report = evaluate(gold, records)
    out = Trust(fields_right=report.fields_right, fields=report.fields_total, requests=requests,
                slips=len(model.slips))
    by_name = {Path(r.document).name: r for r in records}
    for g in gold:
        record = by_name.get(Path(g.document).name)
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
    parser.add_argument("--rates", default="0.02,0.05,0.10")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--backends", default="llm,hybrid")
    args = parser.parse_args()
    print(f"{'back-end':<8} {'slip rate':>9} {'slips':>6} {'field accuracy':>15} {'accepted wrong':>15} "
          f"{'accepted':>9} {'requests/form':>14}")
    for backend in args.backends.split(","):
        for rate in map(float, args.rates.split(",")):
            total = Trust()
            for seed in range(args.seeds):
                total = total + trust_run(backend, rate, seed)
            print(f"{backend:<8} {rate:>9.0%} {total.slips:>6} {total.accuracy:>15.4f} {total.accepted_wrong:>15} "
                  f"{total.accepted / total.forms:>9.1%} {total.requests / total.forms:>14.2f}")
    print(f"({args.seeds} runs of {len(SEEDS)} documents each per row; accepted wrong = forms routed accepted "
          "holding a wrong field)")


if __name__ == "__main__":
    main()
