"""Check an OpenAI-compatible endpoint before a batch: reachable, key, model, modes."""

from __future__ import annotations

from .backends.openai_compat import PROBE_ORDER, LLMBackend
from .config import LLMSettings
from .errors import BackendUnavailable

# The checks without which no mode can be probed (and `jixiao doctor` exits 1).
ESSENTIAL = ("reachable", "key")


def essentials_pass(rows: list[tuple[str, bool, str]]) -> bool:
    """Whether the checks no mode can be probed without passed (else `jixiao doctor` exits 1)."""
    return all(passed for check, passed, _ in rows if check in ESSENTIAL)


def check_endpoint(settings: LLMSettings) -> list[tuple[str, bool, str]]:
    """(check, passed, detail) rows: reachable, key accepted, model listed, then each mode."""
    if not settings.model:
        raise BackendUnavailable("没有设置模型 / no model: pass --model or set JIXIAO_MODEL")
    backend = LLMBackend(settings.model_copy(update={"cache_dir": None, "transport_retries": 0}), use_cache=False)
    rows = backend.access()
    if not essentials_pass(rows):
        return rows
    for mode in PROBE_ORDER:
        result = backend.probe(mode)
        rows.append((f"mode {mode}", result is True, "valid record" if result is True else str(result)))
    return rows
