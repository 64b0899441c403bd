"""An answer that says some accepted lines were not stored (`not_stored`: the server stopped with
its database away) acknowledges nothing: the client sends every line again, from the first, with
its resume header, so that the server skips those it stored and stores the rest.

Its counts cannot say which lines those are: `accepted` counts the stored ones, `rejected` every
rejection of the request, and a rejected line may follow an accepted one that was not stored.
Dropping `accepted + rejected` lines from the front would lose that one.

The server here is a script on a real socket that answers the first request as plotserver does
in that case (tests/test_sigterm_database_away.py shows plotserver's answer) and the second with
a 200; the test reads what the client sent in each.
"""

from __future__ import annotations

import json
import socket
import threading

from harness.live_server import free_port
from tests.client_module import plotserver_client as client

# The first request's lines: stored, accepted but not stored (the commit was abandoned), rejected.
LINES = [{"x": 1, "y": 1}, {"x": 2, "y": 2}, {"x": 3, "y": "not a number"}]
ABANDONED = {"accepted": 1, "rejected": 1, "not_stored": 1, "message": "the server is restarting"}


def read_request(connection: socket.socket) -> tuple[dict[str, str], list[bytes]]:
    """A chunked POST read to its last chunk: its headers and its non-blank lines."""
    data = b""
    while not data.endswith(b"0\r\n\r\n"):
        received = connection.recv(65536)
        if not received:
            break
        data += received
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    payload = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        payload, body = payload + body[:size], body[size + 2 :]
    return headers, [line for line in payload.split(b"\n") if line.strip()]


def answer(connection: socket.socket, status: int, body: dict) -> None:
    text = json.dumps(body).encode()
    reason = {200: "OK", 503: "Service Unavailable"}[status]
    connection.sendall(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(text)}\r\n"
        f"Connection: close\r\n\r\n".encode()
        + text
    )
    connection.close()


def test_an_answer_with_lines_not_stored_acknowledges_none_and_all_are_sent_again():
    port = free_port()
    listener = socket.create_server(("127.0.0.1", port))
    requests: list[tuple[dict[str, str], list[bytes]]] = []

    def serve() -> None:
        for status, body in ((503, ABANDONED), (200, {"accepted": 2, "rejected": 1, "skipped": 0})):
            connection, _ = listener.accept()
            connection.settimeout(30)
            requests.append(read_request(connection))
            answer(connection, status, body)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    try:
        stream = client.Stream(f"http://127.0.0.1:{port}", "token", backoff=0.05, max_backoff=0.1, timeout=30)
        for line in LINES:
            stream.write(line)
        totals = stream.close()  # its first request is answered 503, its second 200
    finally:
        server.join(timeout=30)
        listener.close()

    (first_headers, first_lines), (second_headers, second_lines) = requests
    assert first_lines == second_lines == [json.dumps(line, separators=(",", ":")).encode() for line in LINES]
    stream_id, first = first_headers["plotserver-resume"].split()
    assert second_headers["plotserver-resume"] == f"{stream_id} 1", "sent again from the first line"
    assert first == "1"
    assert totals["pending"] == 0
