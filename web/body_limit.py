"""Every request body that Django will see is bounded before it is read (API_MAX_BODY_BYTES).

Django's ASGI handler reads a whole body before any view runs, and DRF's parsers read it again
into memory, so the bound has to sit in front of Django: a declared `Content-Length` over the
limit is answered 413 at once, without reading a byte of the body; a chunked body is counted as
it arrives and answered 413 as soon as it passes the limit. Streams (POSTs carrying
`plotly-streamtoken`) never come here: they have their own line limit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import cast

from asgiref.typing import (
    ASGIReceiveCallable,
    ASGIReceiveEvent,
    ASGISendCallable,
    ASGISendEvent,
    HTTPDisconnectEvent,
    HTTPScope,
    Scope,
)
from django.conf import settings

from base.asgi_types import HTTPSend
from base.refusals import refusal_body
from web.plotly_api.clientresp_form import clientresp_body

# Plotly's form API answers errors in its own fields (web/plotly_api/clientresp_form.py).
PLOTLY_FORM_PATHS = ("/clientresp",)


def too_large_message(limit: int) -> str:
    return f"The request body is larger than {limit} bytes (API_MAX_BODY_BYTES); send less per request."


def too_large_body(path: str, limit: int) -> bytes:
    message = too_large_message(limit)
    if path in PLOTLY_FORM_PATHS:
        return json.dumps(clientresp_body(error=message)).encode()
    return json.dumps(refusal_body(message)).encode()


class BoundedBody:
    """ASGI middleware: Django sees only bodies of at most API_MAX_BODY_BYTES."""

    # Django's ASGIHandler, whose stubs type scope and events as plain dicts.
    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.API_MAX_BODY_BYTES
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await refuse(scope, cast(HTTPSend, send), limit)
            return
        received = 0
        exceeded = False
        response_started = False

        async def counted_receive() -> ASGIReceiveEvent:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request" and not exceeded:
                received += len(message.get("body", b""))
                if received > limit:
                    # Django takes a disconnect while reading the body as the end of the
                    # request: it stops reading and answers nothing, so the 413 is ours.
                    exceeded = True
                    disconnect: HTTPDisconnectEvent = {"type": "http.disconnect"}
                    return disconnect
            return message

        async def watched_send(message: ASGISendEvent) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, counted_receive, watched_send)
        if exceeded and not response_started:
            await refuse(scope, cast(HTTPSend, send), limit)


def declared_length(scope: HTTPScope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def refuse(scope: HTTPScope, send: HTTPSend, limit: int) -> None:
    body = too_large_body(scope.get("path", ""), limit)
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
