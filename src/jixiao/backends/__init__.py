"""Back-ends share one small interface; the registry below is the one place to add one."""

from __future__ import annotations

from typing import Callable, Protocol

from ..errors import BackendUnavailable
from ..schema import Chunk, Form


class Backend(Protocol):
    name: str

    def extract(self, chunk: Chunk) -> Form:
        """A record of the chunk's form kind; values as printed, null plus a note when unread."""


def _rules() -> Backend:
    from .rules import RulesBackend

    return RulesBackend()


REGISTRY: dict[str, Callable[[], Backend]] = {"rules": _rules}
DEFAULT_BACKEND = "rules"


def get_backend(name: str = DEFAULT_BACKEND) -> Backend:
    """The back-end registered under `name`."""
    try:
        factory = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise BackendUnavailable(
            f"未知的后端 '{name}'，可用：{known} / unknown back-end '{name}'; available: {known}"
        ) from None
    return factory()
