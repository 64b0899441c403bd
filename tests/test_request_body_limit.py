"""Every request body but a stream's is bounded before it is read: API_MAX_BODY_BYTES, 413 in JSON.

The attack of finding 2: bodies of 105 MB, several at once, without an account, at /clientresp,
the REST API and Plotly's v2 routes. The server must refuse each at once and its memory must
not follow the bodies: its peak resident size may grow by less than MEMORY_BOUND_MB.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from urllib.parse import urlencode

import pytest

from harness.live_server import LiveServer

ATTACK_BYTES = 105 * 1024 * 1024
LIMIT = 1024 * 1024  # the server under attack runs with API_MAX_BODY_BYTES=1 MiB
# Four bodies in flight, each read at most up to the limit (10 MiB by default; Django spools
# past 2.5 MB to disk): far below one body's size. The margin covers the allocator and the server's own caches.
MEMORY_BOUND_MB = 64


@pytest.fixture(scope="module")
def small_limit_server(integration_db, artifacts):
    server = LiveServer({**integration_db.env, "API_MAX_BODY_BYTES": str(LIMIT)}, artifacts, name="body-limit")
    server.start()
    yield server
    server.stop()


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the highest resident set size the process has had, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP answer from a raw socket: status, headers, body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before an answer: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    headers = {name.lower(): value for name, value in headers.items()}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def send_quietly(sock: socket.socket, chunks, sent: list[int]) -> None:
    """Write until the server hangs up, as an attacker would; count what went out in `sent`."""
    try:
        for chunk in chunks:
            sock.sendall(chunk)
            sent[0] += len(chunk)
    except OSError:
        pass


def attack(port: int, path: str, *, chunked: bool, body_bytes: int = ATTACK_BYTES) -> tuple[int, dict, dict, int]:
    """POST `body_bytes` of junk to `path` (declared or chunked); the answer, and how many
    body bytes the attacker got to write before the server hung up."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_bytes}"
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode()
    )
    piece = b"[" * (1024 * 1024)

    def body():
        sent = 0
        while sent < body_bytes:
            size = min(len(piece), body_bytes - sent)
            yield (b"%x\r\n" % size + piece[:size] + b"\r\n") if chunked else piece[:size]
            sent += size
        if chunked:
            yield b"0\r\n\r\n"

    sent = [0]
    writer = threading.Thread(target=send_quietly, args=(sock, body(), sent), daemon=True)
    writer.start()
    try:
        status, headers, raw = read_answer(sock)
    finally:
        sock.close()
        writer.join(timeout=30)
    return status, headers, json.loads(raw), sent[0]


@pytest.mark.parametrize("path", ["/api/plots/", "/api/streams/", "/v2/grids", "/v2/plots", "/clientresp"])
def test_a_declared_body_over_the_limit_is_refused_413_before_it_is_read(small_limit_server, path):
    status, headers, body, sent = attack(small_limit_server.port, path, chunked=False)
    assert status == 413
    assert headers["connection"] == "close"
    assert sent < ATTACK_BYTES // 2, "the server read the body it refused"
    message = body["error"] if path == "/clientresp" else body["message"]
    assert "API_MAX_BODY_BYTES" in message and str(LIMIT) in message


def test_a_chunked_body_is_refused_413_once_it_passes_the_limit(small_limit_server):
    status, _, body, sent = attack(small_limit_server.port, "/clientresp", chunked=True)
    assert status == 413
    assert sent < ATTACK_BYTES // 2, "the server read past the limit"
    assert "API_MAX_BODY_BYTES" in body["error"]


def test_a_body_within_the_limit_is_served(small_limit_server):
    status, _, body, _ = attack(small_limit_server.port, "/api/plots/", chunked=True, body_bytes=LIMIT)
    assert status in (400, 401)  # read and judged: junk without credentials
    assert body["message"]


ATTACKS = [("/clientresp", False), ("/clientresp", True), ("/api/plots/", True), ("/v2/grids", False)]


def test_bodies_of_105_mb_at_once_leave_memory_flat_and_the_login_page_up(server):
    """At the default limit (10 MiB): four bodies of 105 MB at once, no account."""
    pid = server.process.pid
    attack(server.port, "/clientresp", chunked=True, body_bytes=12 * 1024 * 1024)  # warm every code path
    before = peak_rss_mb(pid)
    answers: list[int] = []

    def one(path: str, chunked: bool) -> None:
        answers.append(attack(server.port, path, chunked=chunked)[0])

    attackers = [threading.Thread(target=one, args=attack_args) for attack_args in ATTACKS]
    for thread in attackers:
        thread.start()
    for thread in attackers:
        thread.join(timeout=120)
    assert answers == [413] * len(ATTACKS)
    with urllib.request.urlopen(f"{server.url}/login/", timeout=10) as response:
        assert response.status == 200
    grown = peak_rss_mb(pid) - before
    print(f"peak RSS {before:.0f} MB before, grew by {grown:.1f} MB while refusing 4 x 105 MB")
    assert grown < MEMORY_BOUND_MB, f"peak RSS grew by {grown:.0f} MB"


def test_the_api_key_is_checked_before_the_body_is_parsed(server, producer):
    """A wrong key is told so even when its body would be too deep to parse."""
    deep = "[" * 100_000 + "]" * 100_000
    body = urlencode({"un": producer.username, "key": "wrong", "args": deep, "kwargs": "{}"}).encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(
        b"POST /clientresp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    status, _, raw = read_answer(sock)
    sock.close()
    assert status == 401
    assert "API key" in json.loads(raw)["error"]
