"""Back-ends share one small interface (`Backend`); the registry below is the one place to add
one. tests/test_backends.py runs every registered back-end through the same checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config import LLMSettings, load_settings
from ..errors import BackendUnavailable
from .base import Backend

__all__ = ["Backend", "REGISTRY", "Recipe", "default_backend", "get_backend"]


def _rules(settings: LLMSettings, use_cache: bool) -> Backend:
    from .rules import RulesBackend

    return RulesBackend()


def _llm(settings: LLMSettings, use_cache: bool) -> Backend:
    from .openai_compat import LLMBackend

    return LLMBackend(settings, use_cache=use_cache)


def _hybrid(settings: LLMSettings, use_cache: bool) -> Backend:
    from .hybrid import HybridBackend
    from .openai_compat import LLMBackend
    from .rules import RulesBackend

    return HybridBackend(RulesBackend(), LLMBackend(settings, use_cache=use_cache))


@dataclass(frozen=True)
class Recipe:
    """A back-end as another process builds it: its registered name, settings and cache
    choice. A worker process or Ray actor builds its own from this (an LLM client, its rate
    limiter and connections are never shared across processes)."""

    name: str
    settings: LLMSettings
    use_cache: bool = True

    def build(self) -> Backend:
        return get_backend(self.name, self.settings, self.use_cache)


REGISTRY: dict[str, Callable[[LLMSettings, bool], Backend]] = {"rules": _rules, "llm": _llm, "hybrid": _hybrid}


def default_backend(settings: LLMSettings | None = None) -> str:
    """`hybrid` whenever an endpoint is configured, else the offline `rules`."""
    settings = settings or load_settings()
    return "hybrid" if settings.configured else "rules"


def get_backend(name: str | None = None, settings: LLMSettings | None = None, use_cache: bool = True) -> Backend:
    """The back-end registered under `name` (the default when None)."""
    if settings is None:
        settings = LLMSettings(cache_dir=None) if name == "rules" else load_settings()
    name = name or default_backend(settings)
    try:
        factory = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise BackendUnavailable(
            f"未知的后端 '{name}'，可用：{known} / unknown back-end '{name}'; available: {known}"
        ) from None
    backend = factory(settings, use_cache)
    backend.recipe = Recipe(name, settings, use_cache)  # how a worker process builds its own
    return backend
