"""What the openai client's transport failures mean: retried or not, when to retry, and
what to tell the user (one line, the key redacted, the cause named)."""

from __future__ import annotations

import re

import openai
from tenacity import wait_exponential, wait_random

from ..redact import redact

TRANSIENT = (openai.RateLimitError, openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError)


def cause(exc: BaseException) -> BaseException:
    """The transport error behind an instructor wrapper, if there is one."""
    return exc.__cause__ if exc.__cause__ is not None and not isinstance(exc, TRANSIENT) else exc


def is_transient(exc: BaseException) -> bool:
    """429, 5xx, a timeout or a lost connection: worth another try."""
    inner = cause(exc)
    return isinstance(inner, TRANSIENT) or (isinstance(inner, openai.APIStatusError) and inner.status_code >= 500)


def is_connection_failure(exc: BaseException) -> bool:
    """The connection was refused, reset or dropped, or never made within the timeout (nothing
    answers the address: a firewall dropping it, a wrong host): no answer at all."""
    if isinstance(exc, openai.APITimeoutError):
        return _connect_timeout(exc)
    return isinstance(exc, openai.APIConnectionError)


def is_unanswered(exc: BaseException) -> bool:
    """Connected, but no answer within the timeout: a hung endpoint, or a slow model."""
    return isinstance(exc, openai.APITimeoutError) and not _connect_timeout(exc)


def _connect_timeout(exc: BaseException) -> bool:
    return any(type(e).__name__ in ("ConnectTimeout", "PoolTimeout") for e in _chain(exc))


def _chain(error: BaseException) -> list[BaseException]:
    chain, seen = [], error
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    return chain


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(cause(exc), "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return min(float(value), 60.0) if value is not None else None
    except ValueError:
        return None


class RetryWait:
    """Honour a 429's Retry-After; otherwise exponential backoff with jitter."""

    def __init__(self):
        self.backoff = wait_exponential(multiplier=0.2, max=10.0) + wait_random(0, 0.2)

    def __call__(self, state) -> float:
        after = _retry_after(state.outcome.exception()) if state.outcome and state.outcome.failed else None
        return after if after is not None else self.backoff(state)


def describe(exc: BaseException, secret: str | None = None) -> str:
    """A one-line reason, with the key redacted."""
    inner = cause(exc)
    status = getattr(inner, "status_code", None)
    text = str(inner).splitlines()[0][:300] if str(inner) else type(inner).__name__
    return redact(f"{type(inner).__name__}{f' {status}' if status else ''}: {text}", secret)


def unreachable(error: BaseException | str, base_url: str, failures: int, cool_down: float,
                timeout: float | None = None) -> str:
    """Why an endpoint is marked down, in both languages: the cause (an error, or a sentence)
    and where, never the key."""
    what = error if isinstance(error, str) else _connection_failure(error, timeout)
    hint = ("if the model is only slow, raise --timeout; " if isinstance(error, BaseException) and is_unanswered(error)
            else "")
    return (f"LLM 端点无法连接 / LLM endpoint unreachable: {what} at {public_url(base_url)} "
            f"(连续 {failures} 次请求失败，{cool_down:g} 秒内不再请求 / {failures} requests in a row failed; no "
            f"requests for {cool_down:g} s); {hint}check that the server runs, or run `jixiao doctor`")


def _connection_failure(error: BaseException, timeout: float | None = None) -> str:
    """What went wrong on the wire, from the innermost error: "connection refused", …"""
    within, zh = (f" within {timeout:g} s", f"{timeout:g} 秒内") if timeout else ("", "")
    if is_unanswered(error):
        return f"{zh}连接后无应答 / connected, no answer{within}"
    if _connect_timeout(error):
        return f"{zh}无法建立连接（防火墙？地址错误？）/ connection timed out{within}"
    chain = _chain(error)
    for exc in chain:
        if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
            return "connection refused"
        if isinstance(exc, ConnectionResetError) or "reset" in str(exc).lower():
            return "connection reset"
        if "disconnected" in str(exc).lower():
            return "connection closed without an answer"
    text = str(chain[-1]).splitlines()[0][:200] if str(chain[-1]) else type(chain[-1]).__name__
    return f"connection failed ({redact(text)})"


def public_url(url: str) -> str:
    """The URL without any user:password@ in it."""
    return re.sub(r"//[^/@]*@", "//", url)
