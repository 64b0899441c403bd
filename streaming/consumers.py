"""The stream ingest door on the main port (the viewer socket is streaming/viewer.py).

It is thin: the rules live in streaming/ingest.py and streaming/pipeline.py.
"""

from __future__ import annotations

import json

from asgiref.typing import ASGIReceiveCallable, HTTPScope

from base.asgi_types import HTTPSend
from streaming.answers import Outcome
from streaming.doors import serve_stream
from streaming.ingest import ConnectionLost, Reader


def request_headers(scope: HTTPScope) -> dict[str, str]:
    """The request's headers by lower-case name; a repeated one keeps its first value (as the
    stream listener's do)."""
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1").strip())
    return headers


class StreamIngestConsumer:
    """The ASGI door for streams on the main port (uvicorn with httptools).

    Not a Django view: Django reads a whole body before calling a view, and a stream never
    ends. Each `http.request` message is handed to the session as it arrives, so a line
    is applied while the request is still open. The rules are `serve_stream`'s.
    """

    async def __call__(self, scope: HTTPScope, receive: ASGIReceiveCallable, send: HTTPSend) -> None:
        client = scope.get("client") or ("", 0)

        def body() -> Reader:
            body_ended = False

            async def read() -> bytes | None:
                nonlocal body_ended
                if body_ended:
                    return None
                message = await receive()
                if message["type"] != "http.request":  # http.disconnect
                    raise ConnectionLost
                body_ended = not message.get("more_body", False)
                return message.get("body", b"")

            return read

        outcome = await serve_stream(scope["method"], request_headers(scope), client[0], body)
        if outcome is not None:
            await respond(send, outcome)


async def respond(send: HTTPSend, outcome: Outcome) -> None:
    """The one answer a stream gets, after which the connection closes."""
    body = json.dumps(outcome.as_json()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": outcome.status,
            "headers": [
                *((name.lower().encode(), value.encode()) for name, value in outcome.headers()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
