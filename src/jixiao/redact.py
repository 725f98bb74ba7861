"""Keys out of logs and messages: every record of the provider SDKs' loggers and jixiao's redacted.

An endpoint or a proxy may echo the request's Authorization header in its error body; the
openai client puts that body in its exception, and instructor logs the exception on every
attempt; the transport logs response headers at DEBUG. Each record of those loggers is
rewritten as it is made (message, args, exception and stack text), before any filter or
handler sees it, replacing the configured key, and anything shaped like a key or a bearer
token, with ***."""

from __future__ import annotations

import logging
import re
import threading
from urllib.parse import quote

MASK = "***"
# Loggers whose records may carry an error body: jixiao's, the provider SDK's, its transport's
# (openai 1.x uses httpx/httpcore; later versions httpx2/httpcore2), instructor's.
FAMILIES = ("jixiao", "openai", "instructor", "httpx", "httpcore", "httpx2", "httpcore2")
# A space may come URL-encoded (%20) or as '+' when a proxy echoes a query string or a form.
_BEARER = re.compile(r"(?i)\b(bearer|basic)(?:\s+|%20|\+)[A-Za-z0-9._~+/=%\-]+")
_KEYLIKE = re.compile(r"\b(?:sk|key|api)[-_][A-Za-z0-9_\-]{8,}")
_PLACEHOLDERS = {"not-needed", "EMPTY", "none", ""}  # what local servers are sent: nothing to hide
_secrets: set[str] = set()
_lock = threading.Lock()


def redact(text: str, secret: str | None = None) -> str:
    """The text with the key (given, or any registered), bearer tokens and anything shaped
    like a key replaced by ***."""
    secrets = {*_secrets, *([secret] if _worth_hiding(secret) else [])}
    # An echo may carry the key URL-encoded (a '+' or '/' in it becomes %2B, %2F).
    for s in sorted({form for s in secrets for form in (s, quote(s, safe=""), quote(s))}, key=len, reverse=True):
        text = text.replace(s, MASK)
    return _KEYLIKE.sub(MASK, _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text))


def _worth_hiding(secret: str | None) -> bool:
    return bool(secret) and len(secret) >= 4 and secret not in _PLACEHOLDERS


class RedactFilter(logging.Filter):
    """Rewrites a record so that no handler sees a key: the formatted message replaces
    message and args; the exception and stack become redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: keep its parts, each redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_info, record.exc_text = None, redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FILTER = RedactFilter()


def _ours(name: str) -> bool:
    return any(name == f or name.startswith(f + ".") for f in FAMILIES)


class _RedactingFactory:
    """The log record factory, wrapped: a record of a FAMILIES logger is redacted as it is
    made, whichever logger made it (one created after installation, such as httpcore2.http11
    on its first connection, included) and whichever handler will see it (one added later,
    by basicConfig or a test's capture, included). A filter reaches neither: a logger's
    filters skip its children's records, a handler's only that handler. The factory it wraps
    (the default, or one another library installed first) still makes the record."""

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, name, *args, **kwargs) -> logging.LogRecord:
        record = self.inner(name, *args, **kwargs)
        if _ours(str(name)):
            _FILTER.filter(record)
        return record


def _wraps_ours(factory) -> bool:
    """Whether `factory` is ours, or (a wrapper another library installed later, which keeps
    the one it found as `inner`, `wrapped` or `__wrapped__`) calls ours."""
    for _ in range(20):
        if isinstance(factory, _RedactingFactory):
            return True
        factory = next((getattr(factory, a) for a in ("inner", "wrapped", "__wrapped__") if hasattr(factory, a)), None)
        if factory is None:
            return False
    return False


def install_redaction(secret: str | None = None) -> None:
    """Hide `secret` (and every key-shaped token) in every record of the FAMILIES' loggers:
    redacted as it is made (the record factory, wrapped once, composing with any factory set
    before), and by a filter on those loggers that exist now (for records made elsewhere and
    handed to them, e.g. from a queue). Idempotent; run again after importing a provider SDK,
    as the LLM back-end does: a factory set since that does not call ours is wrapped again."""
    with _lock:
        if _worth_hiding(secret):
            _secrets.add(secret)
        current = logging.getLogRecordFactory()
        if not _wraps_ours(current):
            logging.setLogRecordFactory(_RedactingFactory(current))
        names = [n for n in list(logging.Logger.manager.loggerDict) if _ours(n)]
        for name in {*FAMILIES, *names}:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
