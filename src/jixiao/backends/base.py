"""What callers use of a back-end (`Backend`), apart from the registry (backends/__init__.py), so
that each back-end can declare it without importing the registry that builds it."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

from ..schema import Chunk, Form, Usage

if TYPE_CHECKING:
    from ..cost import Price
    from . import Recipe


class Backend(Protocol):
    """Everything callers use of a back-end. A back-end subclasses this, so that what it does
    not set keeps the offline default (no model, nothing to count or pay)."""

    name: ClassVar[str]  # as registered; recorded on every form it reads
    model: str | None = None  # the model asked, recorded with a run (`jixiao eval run`)
    prompt_version: str | None = None  # the prompts' version (v1, v2), likewise
    price: Price | None = None  # the model's price per token, for the run's cost line
    # Whether its reads wait on something remote: forms are then read on a thread pool.
    waits: ClassVar[bool] = True
    # How another process builds the same back-end (`get_backend` sets it): None, the back-end
    # itself is sent to worker processes.
    recipe: Recipe | None = None
    # The requests and tokens its reads have cost so far in this process; None when it asks no
    # model (nothing to count).
    totals: Usage | None = None

    def extract(self, chunk: Chunk) -> Form:
        """A record of the chunk's kind; values as printed, null plus a note when unread.
        Raises ExtractionFailed, naming the form and the reason, when it cannot."""
        raise NotImplementedError
