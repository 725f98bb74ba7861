"""What a remote back-end needs around its calls: a disk cache, rate limits, a token budget,
a circuit breaker for an endpoint that is down."""

from __future__ import annotations

import hashlib
import logging
import json
import os
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from ..errors import BackendUnavailable, ExtractionFailed

log = logging.getLogger("jixiao")


def estimated_tokens(text: str) -> int:
    """What a text will cost in tokens, estimated before it is sent (for the tokens-per-minute
    limit and the examples' budget): half its characters. The endpoint's count is the truth."""
    return len(text) // 2


class DiskCache:
    """Content-addressed answers on disk. Writes go to a temporary file that is renamed into
    place, so concurrent writers (threads or processes) never leave a torn entry."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @staticmethod
    def key(*parts: object) -> str:
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            self._warn(exc)
            return None

    def put(self, key: str, value: dict) -> None:
        """Keep an answer; a cache that cannot be written is a lost saving, never a lost form."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(value, f, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        if not getattr(self, "_warned", False):
            self._warned = True
            log.warning("缓存不可用 / the answer cache in %s is not usable (%s); going on without it", self.folder, exc)


class RateLimiter:
    """Requests-per-minute and tokens-per-minute over a sliding minute, shared by threads."""

    def __init__(self, requests_per_minute: float | None, tokens_per_minute: float | None, window: float = 60.0):
        self.rpm, self.tpm, self.window = requests_per_minute, tokens_per_minute, window
        self._events: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        while True:
            with self._lock:
                now = time.monotonic()
                while self._events and now - self._events[0][0] >= self.window:
                    self._events.popleft()
                used = sum(t for _, t in self._events)
                if (not self.rpm or len(self._events) < self.rpm) and (not self.tpm or used + tokens <= self.tpm
                                                                       or not self._events):
                    self._events.append((now, tokens))
                    return
                wait = self.window - (now - self._events[0][0])
            time.sleep(min(max(wait, 0.01), 1.0))


class BudgetSpent(ExtractionFailed):
    """The --max-tokens-total or --max-cost budget is used up: no new requests are made."""


class TokenBudget:
    """Tokens, and their estimated cost, used so far across all forms; new requests stop once
    either budget is spent."""

    def __init__(self, limit: int | None, cost_limit: float | None = None, currency: str = ""):
        self.limit, self.used = limit, 0
        self.cost_limit, self.cost, self.currency = cost_limit, 0.0, currency
        self._lock = threading.Lock()

    def check(self) -> None:
        if self.limit is not None and self.used >= self.limit:
            raise BudgetSpent(f"token budget spent ({self.used}/{self.limit}); no new requests / "
                              f"令牌预算已用完，不再发送请求")
        if self.cost_limit is not None and self.cost >= self.cost_limit:
            raise BudgetSpent(f"cost budget spent ({self.cost:.4f}/{self.cost_limit:g} {self.currency}, --max-cost); "
                              f"no new requests / 费用预算已用完，不再发送请求")

    def spend(self, tokens: int, cost: float = 0.0) -> None:
        with self._lock:
            self.used += tokens
            self.cost += cost


class EndpointDown(BackendUnavailable):
    """The endpoint refused, dropped or never answered the connection on several requests in
    a row: no request is sent to it until the cool-down has passed."""


class Breaker:
    """Counts failures in a row with no answer between: a request whose connection failed
    (refused, reset, dropped, or not made within the timeout), a request that got no answer
    within the timeout, a round of mode probes that all failed on the transport (the caller
    decides; an HTTP error is no failure). After `threshold` of them the endpoint is marked
    down for `cooldown` seconds, then one failure more marks it down again. Shared by threads,
    and by a run's worker processes when they were given a SharedBreaker (`share_breaker`)."""

    def __init__(self, threshold: int, cooldown: float, clock=time.monotonic):
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        # The system's monotonic clock reads the same in every process: only then is state shared.
        self.state = _shared if _shared is not None and clock is time.monotonic else _OwnBreaker()

    @property
    def failures(self) -> int:
        return self.state.failures

    @property
    def reason(self) -> str | None:
        return self.state.reason

    def check(self) -> None:
        """Raises EndpointDown while the endpoint is marked down."""
        with self.state.lock:
            if self.state.reason is not None and self.clock() < self.state.until:
                raise EndpointDown(self.state.reason)

    @property
    def down(self) -> str | None:
        """Why the endpoint is marked down now, or None."""
        try:
            self.check()
        except EndpointDown as exc:
            return str(exc)
        return None

    def failed(self, reason: str) -> None:
        """A request whose connection failed; `reason` names the cause, in both languages."""
        state = self.state
        with state.lock:
            state.failures += 1
            if state.failures < self.threshold or self.clock() < state.until:
                return
            first = state.reason is None
            state.reason, state.until = reason, self.clock() + self.cooldown
            state.failures = self.threshold - 1  # after the cool-down, one failure marks it down again
        if first:  # the cause, named once a run
            log.warning("%s", reason)

    def succeeded(self) -> None:
        state = self.state
        with state.lock:
            state.failures, state.reason, state.until = 0, None, 0.0


class _OwnBreaker:
    """A breaker's state in this process alone."""

    def __init__(self):
        self.lock = threading.Lock()
        self.failures, self.reason, self.until = 0, None, 0.0


class SharedBreaker:
    """A breaker's state in shared memory, made by the parent of a run's worker processes and
    given to each: one worker's failures count for all, the endpoint is marked down for all,
    and the cause is named once a run, as in one process."""

    def __init__(self, context):
        self.lock = context.Lock()
        self._failures = context.RawValue("i", 0)
        self._until = context.RawValue("d", 0.0)
        self._reason = context.RawArray("c", 4096)  # UTF-8; empty: not marked down

    failures = property(lambda self: self._failures.value, lambda self, n: setattr(self._failures, "value", n))
    until = property(lambda self: self._until.value, lambda self, t: setattr(self._until, "value", t))

    @property
    def reason(self) -> str | None:
        return self._reason.value.decode("utf-8", "replace") or None

    @reason.setter
    def reason(self, text: str | None) -> None:
        data = (text or "").encode("utf-8")[:len(self._reason) - 1]
        self._reason.value = data.decode("utf-8", "ignore").encode("utf-8")  # never half a character


_shared: SharedBreaker | None = None


def share_breaker(state: SharedBreaker | None) -> None:
    """Breakers made in this process from now on use `state` (in a run's worker process)."""
    global _shared
    _shared = state
