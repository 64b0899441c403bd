"""The transports of live data: the stream ingest door on the main port and the viewer socket.

Both are thin: the rules live in streaming/ingest.py, streaming/store.py and plots/models.py.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from streaming import events, snapshots
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


class PlotViewerConsumer(AsyncJsonWebsocketConsumer):
    """A browser watching one plot: a snapshot first, then every update, in sequence order.

    The messages are documented in docs/websocket.md.
    """

    async def connect(self) -> None:
        self.plot_id = int(self.scope["url_route"]["kwargs"]["plot_id"])
        query = parse_qs(self.scope.get("query_string", b"").decode())
        self.share_key = (query.get("share_key") or [None])[0]
        self.wants_presence = (query.get("presence") or ["0"])[0] == "1"
        self.seqs: dict[str, int] = {}
        await self.accept()
        await self.channel_layer.group_add(events.plot_group(self.plot_id), self.channel_name)
        since = (query.get("since") or [None])[0]
        if since is None:
            await self.send_snapshot()
        else:
            await self.send_catch_up(since)

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(events.plot_group(self.plot_id), self.channel_name)

    async def send_snapshot(self) -> None:
        await self.deliver_snapshot(
            await database_sync_to_async(snapshots.snapshot)(self.plot_id, self.scope["user"], self.share_key)
        )

    async def deliver_snapshot(self, snapshot: dict | None) -> None:
        if snapshot is None:
            await self.send_json({"type": "error", "status": 404, "message": "no such plot, or not shared with you"})
            await self.close(code=4404)
            return
        self.seqs = {stream: info["seq"] for stream, info in snapshot["streams"].items()}
        await self.send_json(snapshot)

    async def send_catch_up(self, since: str) -> None:
        """A viewer coming back: the updates it missed, or a snapshot if they are not all kept."""
        try:
            position = json.loads(since)
        except ValueError:
            position = {}
        message = await database_sync_to_async(snapshots.catch_up)(
            self.plot_id, self.scope["user"], self.share_key, position if isinstance(position, dict) else {}
        )
        if message is None or message["type"] == "snapshot":
            await self.deliver_snapshot(message)
            return
        self.seqs = {stream: seq for stream, seq in message.pop("streams").items()}
        await self.send_json(message)

    async def receive_json(self, content: dict, **kwargs) -> None:
        if content.get("type") == "resync":
            await self.send_snapshot()

    async def plot_updates(self, event: events.PlotUpdates) -> None:
        fresh = []
        for update in event["updates"]:
            stream = str(update["stream"])
            # The snapshot may already hold updates published after this viewer joined.
            if update["seq"] <= self.seqs.get(stream, 0):
                continue
            self.seqs[stream] = update["seq"]
            fresh.append(update)
        if fresh:
            await self.send_json({"type": "updates", "updates": fresh})

    async def plot_stream(self, event: events.PlotStream) -> None:
        # Opt-in (`?presence=1`), so clients that expect only snapshots and updates see no change.
        if self.wants_presence:
            message = {"type": "stream", "stream": event["stream"], "connected": event["connected"]}
            if "seq" in event:
                message["seq"] = event["seq"]
            await self.send_json(message)

    async def plot_changed(self, event: events.PlotChanged) -> None:
        await self.send_snapshot()
