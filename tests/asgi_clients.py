"""In-process clients of the ASGI application that uvicorn serves (`plotserver.asgi.application`):
a viewer socket and a stream, each an `ApplicationCommunicator` (Channels' own communicators are
in a package that needs daphne, which plotserver does not use).

No server, no sockets: the messages are the ones uvicorn would hand the application, so these
test the consumers themselves, and the subprocess tests keep what only a real server shows.
"""

from __future__ import annotations

import orjson
from asgiref.testing import ApplicationCommunicator

from plotserver.asgi import application

HOST = b"testserver"  # in ALLOWED_HOSTS of tests/settings.py


class Viewer(ApplicationCommunicator):
    """A WebSocket client of `/ws/plots/<id>/`, optionally with the Origin and cookie a browser sends."""

    def __init__(self, path: str, origin: str | None = None, cookie: str | None = None) -> None:
        path, _, query = path.partition("?")
        headers = [(b"host", HOST)]
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        if cookie is not None:
            headers.append((b"cookie", cookie.encode()))
        scope = {
            "type": "websocket",
            "path": path,
            "query_string": query.encode(),
            "headers": headers,
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
        }
        super().__init__(application, scope)

    async def connect(self) -> bool:
        """True if the socket was accepted; False if the application closed it instead."""
        await self.send_input({"type": "websocket.connect"})
        answer = await self.receive_output(5)
        assert answer["type"] in ("websocket.accept", "websocket.close"), answer
        return answer["type"] == "websocket.accept"

    async def receive_json_from(self, timeout: float = 5) -> dict:
        frame = await self.receive_output(timeout)
        assert frame["type"] == "websocket.send", frame
        return orjson.loads(frame["text"])

    async def send_json_to(self, content: dict) -> None:
        await self.send_input({"type": "websocket.receive", "text": orjson.dumps(content).decode()})

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(5)


async def open_viewer(plot_id: int, query: str = "", **options) -> Viewer:
    """A viewer of the plot whose socket was accepted."""
    viewer = Viewer(f"/ws/plots/{plot_id}/{query}", **options)
    assert await viewer.connect()
    return viewer


class Stream(ApplicationCommunicator):
    """A streaming request (chunked POST) on the main port: each `write` is one `http.request`
    message with more to come, as uvicorn delivers each chunk as it arrives."""

    def __init__(
        self, token: str | None, method: str = "POST", path: str = "/", extra_headers: dict[str, str] | None = None
    ) -> None:
        headers = [(b"host", HOST), (b"transfer-encoding", b"chunked")]
        if token is not None:
            headers.append((b"plotly-streamtoken", token.encode()))
        headers += [(name.encode(), value.encode()) for name, value in (extra_headers or {}).items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 50001),
            "server": ("testserver", 80),
        }
        super().__init__(application, scope)

    async def write(self, data: bytes | dict) -> None:
        if isinstance(data, dict):
            data = orjson.dumps(data) + b"\n"
        await self.send_input({"type": "http.request", "body": data, "more_body": True})

    async def end(self) -> tuple[int, dict]:
        """Send the end of the body and read the answer."""
        await self.send_input({"type": "http.request", "body": b"", "more_body": False})
        return await self.answer()

    async def answer(self, timeout: float = 10) -> tuple[int, dict]:
        """The status and JSON body of the one answer a stream gets."""
        start = await self.receive_output(timeout)
        assert start["type"] == "http.response.start", start
        body = await self.receive_output(timeout)
        assert body["type"] == "http.response.body", body
        return start["status"], orjson.loads(body["body"])
