"""A producer on a raw socket, so tests control every byte a stream sends; and the usual start
of a test, a plot fed by an open stream (`open_streaming_plot`)."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

from harness.live_server import Api, wait_for


@dataclass
class StreamAnswer:
    status: int
    headers: dict[str, str]
    body: dict | str

    @property
    def json(self) -> dict:
        assert isinstance(self.body, dict), self.body
        return self.body


def parse_answer(raw: bytes) -> StreamAnswer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    try:
        return StreamAnswer(status, headers, json.loads(body))
    except ValueError:
        return StreamAnswer(status, headers, body.decode(errors="replace"))


class RawStream:
    """An open streaming POST. `chunked=False` sends a Content-Length body with `send_body`."""

    def __init__(
        self,
        port: int,
        token: str | None,
        *,
        chunked: bool = True,
        method: str = "POST",
        path: str = "/",
        extra_headers: tuple[str, ...] = (),
        host: str = "127.0.0.1",
    ) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        headers = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
        if token is not None:
            headers.append(f"plotly-streamtoken: {token}")
        if chunked:
            headers.append("Transfer-Encoding: chunked")
        headers.extend(extra_headers)
        self.head = ("\r\n".join(headers) + "\r\n").encode()
        self.chunked = chunked
        self.sent_head = False

    def _send(self, data: bytes) -> None:
        if not self.sent_head:
            self.sent_head = True
            # A chunked head ends here; send_body adds Content-Length and the blank line itself.
            data = self.head + (b"\r\n" if self.chunked else b"") + data
        self.sock.sendall(data)

    def open(self) -> RawStream:
        """Send the request head now (Plotly's Python client does, before its first write)."""
        self._send(b"")
        return self

    def write(self, data: bytes | str | dict) -> None:
        """Send one chunk. A dict is sent as one JSON line."""
        if isinstance(data, dict):
            data = json.dumps(data) + "\n"
        if isinstance(data, str):
            data = data.encode()
        self._send(b"%x\r\n%s\r\n" % (len(data), data))

    def send_raw(self, data: bytes) -> None:
        self._send(data)

    def send_body(self, body: bytes) -> None:
        self.sock.sendall(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def end(self) -> StreamAnswer:
        """Send the last chunk and read the answer."""
        self._send(b"0\r\n\r\n")
        return self.answer()

    def answer(self, timeout: float = 10) -> StreamAnswer:
        """Read until the server closes the connection, and parse its one answer."""
        self.sock.settimeout(timeout)
        raw = b""
        while chunk := self.sock.recv(65536):
            raw += chunk
        self.sock.close()
        return parse_answer(raw)

    def has_answered(self) -> bool:
        """True if the server has sent anything (without waiting)."""
        self.sock.setblocking(False)
        try:
            return bool(self.sock.recv(1, socket.MSG_PEEK))
        except BlockingIOError:
            return False
        finally:
            self.sock.setblocking(True)

    def close(self) -> None:
        self.sock.close()


@dataclass
class StreamingPlot:
    """A plot of one trace, and the open stream of the token that feeds it."""

    token: str
    plot: dict
    stream: RawStream

    def __iter__(self):
        """`token, plot, stream = open_streaming_plot(...)`"""
        return iter((self.token, self.plot, self.stream))


FIRST_POINT = {"x": 1, "y": 1}


def open_streaming_plot(
    api: Api, port: int, *, first: dict | None = FIRST_POINT, name: str = "", **plot_options
) -> StreamingPlot:
    """Make a token and a plot of one trace it feeds (`plot_options` go to `Api.make_plot`), open
    a stream on `port`, and write `first`; return once the server holds the stream and has
    stored that point. With `first=None` the stream is only opened (nothing written, nothing
    waited for), as a producer does before its first point."""
    token = api.make_token(name)
    plot = api.make_plot([token], **plot_options)
    stream = RawStream(port, token).open()
    if first is not None:
        stream.write(first)
        wait_for(
            lambda: (s := api.stream_status(token))["connected"] and s["accepted"] >= 1,
            message="the stream connected and its first point stored",
        )
    return StreamingPlot(token, plot, stream)


def send_lines(port: int, token: str | None, lines, timeout: float = 10) -> StreamAnswer:
    """Send `lines` (dicts as JSON lines, bytes as they are) as one finite body with a
    Content-Length, the way a batch is uploaded, and return the answer."""
    body = b"".join(json.dumps(line).encode() + b"\n" if isinstance(line, dict) else line for line in lines)
    stream = RawStream(port, token, chunked=False)
    stream.send_body(body)
    return stream.answer(timeout)
