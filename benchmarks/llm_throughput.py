"""LLM back-end throughput against a loopback server with a fixed latency, and hybrid's
request rate on the seeds.

    python benchmarks/llm_throughput.py [--forms 480] [--latency 0.5] [--concurrency 16]

The ideal rate is concurrency / latency (32 forms/s at 16 and 0.5 s); the target is ≥ 0.9
of it. It also prints request bytes per form against form text bytes, and hybrid's
requests per form on the seeds (target ≤ 0.3)."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from jixiao.backends import get_backend
from jixiao.config import LLMSettings
from jixiao.pipeline import extract_paths
from jixiao.eval_runs import load_gold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fake server is test code, not in the package
from fakeserver import FakeOpenAI, gold_answerer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=480)
    parser.add_argument("--latency", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        docs = _copies(Path(tmp) / "docs", args.forms)
        # The server runs in its own process, as a remote one would: its work is not ours.
        with _server_process(args.latency) as (base_url, stats):
            settings = LLMSettings(base_url=base_url, model="fake-model", mode="tools", cache_dir=None,
                                   concurrency=args.concurrency)
            start = time.perf_counter()
            backend = get_backend("llm", settings)
            ready = time.perf_counter() - start
            # Throughput of a batch: from the first document read to the last form checked.
            start = time.perf_counter()
            forms = sum(len(r.record.forms) for r in extract_paths([docs], backend, concurrency=args.concurrency))
            elapsed = time.perf_counter() - start
            text_bytes = sum(len(p.read_text(encoding="utf-8").encode("utf-8")) for p in docs.iterdir())
        sent = stats["request_bytes"]
        ideal = args.concurrency / args.latency
        rate = forms / elapsed
        print(f"back-end ready in {ready:.2f} s (imports of the openai client, once per process)")
        print(f"llm: {forms} forms in {elapsed:.2f} s = {rate:.1f} forms/s; ideal {ideal:.1f}; "
              f"{rate / ideal:.2f} of ideal (target ≥ 0.9)")
        print(f"request bytes per form {sent / forms:,.0f} against form text bytes per form "
              f"{text_bytes / forms:,.0f} ({sent / text_bytes:.1f}×: prompt, schema and JSON escaping)")
        with FakeOpenAI(gold_answerer(_gold())) as server:
            settings = LLMSettings(base_url=server.base_url, model="fake-model", mode="tools", cache_dir=None)
            seeds = sorted((ROOT / "fixtures" / "raw").glob("*.txt"))
            forms = sum(len(r.record.forms) for r in extract_paths(seeds, get_backend("hybrid", settings)))
            print(f"hybrid on the seeds: {server.completions} requests for {forms} forms = "
                  f"{server.completions / forms:.2f} requests per form (target ≤ 0.3)")


def _gold() -> list[dict]:
    return [f.model_dump(mode="json") for g in load_gold(ROOT / "fixtures" / "gold") for f in g.forms]


def _serve(latency: float, ready, stop, results) -> None:
    with FakeOpenAI(gold_answerer(_gold()), latency=latency) as server:
        ready.put(server.base_url)
        stop.wait()
        results.put({"request_bytes": sum(server.request_bytes), "requests": server.completions})


@contextmanager
def _server_process(latency: float):
    ctx = mp.get_context("spawn")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    process = ctx.Process(target=_serve, args=(latency, ready, stop, results), daemon=True)
    process.start()
    stats: dict = {}
    try:
        yield ready.get(timeout=60), stats
    finally:
        stop.set()
        stats.update(results.get(timeout=60))
        process.join(timeout=10)


def _copies(folder: Path, forms: int) -> Path:
    """The seeds copied until there are at least `forms` forms (21 forms per round)."""
    folder.mkdir(parents=True)
    seeds = sorted((ROOT / "fixtures" / "raw").glob("*.txt"))
    rounds = -(-forms // 21)
    for k in range(rounds):
        for seed in seeds:
            (folder / f"{k:03d}_{seed.name}").write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    return folder


if __name__ == "__main__":
    main()
