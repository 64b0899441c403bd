"""The bytes Plotly's Arduino library (plotly/arduino-api, `plotly_streaming_*`) sends, as
research/plotly-clients.md records them, on raw sockets: the board reads every answer until the
server closes the connection."""

from __future__ import annotations

import json
import socket

from harness.producer import StreamAnswer, parse_answer

# Plotly's old address: the library's /clientresp sends it as Host whatever server it connects to.
PLOTLY_OLD_ADDRESS = "107.21.214.199"


def clientresp_bytes(
    username: str,
    key: str,
    traces: list[dict],
    filename: str,
    host: str,
    origin: str = "plot",
    count: str = "library",
) -> bytes:
    """POST /clientresp as the library writes it: no Content-Type, the form unencoded (JSON as
    Python's json.dumps spaces it), a trailing CRLF.

    `count`, its Content-Length: "library", the library's own formula, which counts a
    10-character API key and 10-character tokens and leaves the CRLF out (so with plotserver's
    43-character keys it falls 35 bytes short); "library-without-world-readable", the versions
    that also leave out `, "world_readable": true`; "exact", every byte, the CRLF included."""
    args = json.dumps(traces)
    kwargs = json.dumps({"fileopt": "overwrite", "filename": filename, "world_readable": True})
    body = (
        f"version=2.3&origin={origin}&platform=arduino&un={username}&key={key}&args={args}&kwargs={kwargs}\r\n"
    ).encode()
    length = {
        "exact": len(body),
        "library": library_count(username, traces, filename),
        "library-without-world-readable": library_count(username, traces, filename) - len(', "world_readable": true'),
    }[count]
    head = f"POST /clientresp HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Arduino/0.5.1\r\nContent-Length: {length}\r\n\r\n"
    return head.encode() + body


def library_count(username: str, traces: list[dict], filename: str) -> int:
    """The Content-Length the library computes (plotly_streaming_*.cpp): its fixed text, 126
    characters with a 10-character key, plus the parts it measures; `true` is 4."""
    maxpoints = str(traces[0]["stream"]["maxpoints"])
    n = len(traces)
    return 126 + len(username) + len("overwrite") + n * (87 + len(maxpoints)) + (n - 1) * 2 + len(filename) + 4


def stream_head(token: str | None, zone: str | None, host: str) -> bytes:
    """The library's stream request head, with `plotly-convertTimestamp: "<zone>"`, quoted, when
    the sketch turns millis() into dates. Its current version sends no token header (`token`
    None): each line names its own (`point_chunk(..., token)`); older versions name it here."""
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Python\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
    )
    if token is not None:
        head += f"plotly-streamtoken: {token}\r\n"
    if zone is not None:
        head += f'plotly-convertTimestamp: "{zone}"\r\n'
    return (head + "\r\n").encode()


def point_chunk(millis: int, value: float, token: str | None = None) -> bytes:
    """One write: `{"x": <millis>, "y": <value>}` and a newline, floats with two decimals, as one
    chunk; with `token`, the line names it last (`, "streamtoken": "<token>"`), and the chunk's
    size is the library's own sum, len(x) + len(y) + 44, which counts a 10-character token."""
    y = f"{value:.2f}"
    if token is None:
        line = f'{{"x": {millis}, "y": {y}}}\n'.encode()
        return b"%x\r\n%s\r\n" % (len(line), line)
    line = f'{{"x": {millis}, "y": {y}, "streamtoken": "{token}"}}\n'.encode()
    size = len(str(millis)) + len(y) + 44
    assert size == len(line), "the library's chunk sizes hold for 10-character tokens only"
    return b"%x\r\n%s\r\n" % (size, line)


def exchange(port: int, data: bytes, timeout: float = 30) -> tuple[StreamAnswer, bytes]:
    """Send `data`, read until the server closes (as the board does); the answer and its raw bytes.
    A server that keeps the connection open fails this at `timeout`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    return parse_answer(raw), raw
