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
    down for `cooldown` seconds, then one failure more marks it down again. Shared by threads."""

    def __init__(self, threshold: int, cooldown: float, clock=time.monotonic):
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self.failures, self.reason, self._until = 0, None, 0.0
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raises EndpointDown while the endpoint is marked down."""
        with self._lock:
            if self.reason is not None and self.clock() < self._until:
                raise EndpointDown(self.reason)

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
        with self._lock:
            self.failures += 1
            if self.failures < self.threshold or self.clock() < self._until:
                return
            first = self.reason is None
            self.reason, self._until = reason, self.clock() + self.cooldown
            self.failures = self.threshold - 1  # after the cool-down, one failure marks it down again
        if first:  # the cause, named once a run
            log.warning("%s", reason)

    def succeeded(self) -> None:
        with self._lock:
            self.failures, self.reason, self._until = 0, None, 0.0
