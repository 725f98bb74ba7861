"""Check an OpenAI-compatible endpoint before a batch: reachable, key, model, modes."""

from __future__ import annotations

import openai

from .config import LLMSettings
from .errors import BackendUnavailable


def check_endpoint(settings: LLMSettings) -> list[tuple[str, bool, str]]:
    """(check, passed, detail) rows: reachable, key accepted, model listed, then each mode."""
    from .backends.openai_compat import PROBE_ORDER, LLMBackend

    if not settings.model:
        raise BackendUnavailable("没有设置模型 / no model: pass --model or set JIXIAO_MODEL")
    backend = LLMBackend(settings.model_copy(update={"cache_dir": None, "transport_retries": 0}), use_cache=False)
    rows: list[tuple[str, bool, str]] = []
    try:
        models = [m.id for m in backend.openai.models.list()]
        rows += [("reachable", True, backend.base_url), ("key", True, "accepted")]
        listed = settings.model in models
        rows.append(("model listed", listed, "" if listed else f"not in {', '.join(models[:8])}"))
    except openai.AuthenticationError as exc:
        return [("reachable", True, backend.base_url), ("key", False, backend.describe(exc))]
    except openai.APIConnectionError as exc:
        return [("reachable", False, backend.describe(exc))]
    except openai.APIError as exc:  # some servers do not list models; the modes still tell
        rows += [("reachable", True, backend.base_url), ("key", True, "not checked"),
                 ("model listed", False, backend.describe(exc))]
    for mode in PROBE_ORDER:
        result = backend.probe(mode)
        rows.append((f"mode {mode}", result is True, "valid record" if result is True else str(result)))
    return rows
