"""Keys out of logs and messages: a logging filter on the provider SDKs' loggers and jixiao's.

An endpoint or a proxy may echo the request's Authorization header in its error body; the
openai client puts that body in its exception, and instructor logs the exception on every
attempt. The filter rewrites each record (message, args, exception and stack text) before
any handler sees it, replacing the configured key, and anything shaped like a key or a
bearer token, with ***."""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"
# Loggers whose records may carry an error body: jixiao's, the provider SDK's, its transport's
# (openai 1.x uses httpx/httpcore; later versions httpx2/httpcore2), instructor's.
FAMILIES = ("jixiao", "openai", "instructor", "httpx", "httpcore", "httpx2", "httpcore2")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
_KEYLIKE = re.compile(r"\b(?:sk|key|api)[-_][A-Za-z0-9_\-]{8,}")
_PLACEHOLDERS = {"not-needed", "EMPTY", "none", ""}  # what local servers are sent: nothing to hide
_secrets: set[str] = set()
_lock = threading.Lock()


def redact(text: str, secret: str | None = None) -> str:
    """The text with the key (given, or any registered), bearer tokens and anything shaped
    like a key replaced by ***."""
    for s in sorted({*_secrets, *([secret] if _worth_hiding(secret) else [])}, key=len, reverse=True):
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


def install_redaction(secret: str | None = None) -> None:
    """Hide `secret` (and every key-shaped token) in the records of the FAMILIES' loggers,
    those that exist now included (a filter on a logger does not reach its children's
    records). Idempotent; run again after importing a provider SDK, as the LLM back-end does."""
    with _lock:
        if _worth_hiding(secret):
            _secrets.add(secret)
        names = [n for n in list(logging.Logger.manager.loggerDict)
                 if any(n == f or n.startswith(f + ".") for f in FAMILIES)]
        for name in {*FAMILIES, *names}:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
