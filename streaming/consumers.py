"""The stream ingest door on the main port (the viewer socket is streaming/viewer.py).

It is thin: the rules live in streaming/ingest.py and streaming/pipeline.py.
"""

from __future__ import annotations

import json

from streaming.ingest import ConnectionLost, Outcome, StreamSession

TOKEN_HEADER = b"plotly-streamtoken"


def stream_token_of(scope: dict) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == TOKEN_HEADER:
            return value.decode("latin-1").strip()
    return None


class StreamIngestConsumer:
    """The ASGI door for streams on the main port (uvicorn with httptools).

    Not a Django view: Django reads a whole body before calling a view, and a stream never
    ends. Each `http.request` message is handed to the session as it arrives, so a line
    is applied while the request is still open.
    """

    async def __call__(self, scope: dict, receive, send) -> None:
        client = scope.get("client") or ("", 0)
        remote_addr = client[0]
        token = stream_token_of(scope)
        if scope["method"] != "POST":
            await respond(send, Outcome(405))
            return
        if not token:
            await respond(send, Outcome(406))
            return
        opened = await StreamSession.open(token, remote_addr)
        if isinstance(opened, Outcome):
            await respond(send, opened)
            return

        body_ended = False

        async def read() -> bytes | None:
            nonlocal body_ended
            if body_ended:
                return None
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ConnectionLost
            body_ended = not message.get("more_body", False)
            return message.get("body", b"")

        outcome = await opened.run(read)
        if outcome.status != 499:
            await respond(send, outcome)


async def respond(send, outcome: Outcome) -> None:
    """The one answer a stream gets, after which the connection closes."""
    body = json.dumps(outcome.as_json()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": outcome.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
