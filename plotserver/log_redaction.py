"""Keeps secrets that travel in URLs out of the logs: share keys, stream tokens and API keys.

A secret link carries `?share_key=...` (pages, figure JSON, viewer sockets) and stream tokens
may appear in REST paths (`/api/streams/<token>/`). uvicorn logs every request's path with its
query string, and Django logs the path of every 4xx/5xx. `RedactSecrets` rewrites those values
to `[redacted]` in the log record itself, so every handler and format sees only the redacted form.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# Query parameters whose value is a credential (`p`: the API key InfluxDB 1's clients send to
# /write, docs/ingest.md).
SECRET_PARAMETER = re.compile(r"(?i)(?<![\w-])((?:share_key|token|stream_token|api_key|key|p)=)[^&\s\"'#]+")
# A stream token as a path segment (a numeric id is not a secret and stays readable).
TOKEN_IN_PATH = re.compile(r"(/api/streams/)(?!\d+(?:[/?\s\"']|$))[^/?\s\"'#]+")

# Loggers that write request paths: uvicorn's access log, uvicorn's socket lines
# ("WebSocket /ws/...?share_key=... [accepted]"), Django's 4xx/5xx and security warnings.
LOGGERS_WITH_PATHS = ("uvicorn.access", "uvicorn.error", "django.request", "django.security", "django.server")


def redact(text: str) -> str:
    """`text` with share keys and stream tokens in URLs replaced by [redacted]."""
    text = SECRET_PARAMETER.sub(rf"\1{REDACTED}", text)
    return TOKEN_IN_PATH.sub(rf"\1{REDACTED}", text)


class RedactSecrets(logging.Filter):
    """A logging filter that redacts secrets in a record's message and arguments, keeping its shape
    (uvicorn's access formatter reads the arguments by position)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install() -> None:
    """Attach the filter to every logger that writes request paths (idempotent)."""
    for name in LOGGERS_WITH_PATHS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactSecrets) for existing in logger.filters):
            logger.addFilter(RedactSecrets())
