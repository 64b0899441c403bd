"""Connection caps: one address, or everyone together, cannot take every connection of a process.

A real server with small caps (HTTP_MAX_CONNECTIONS, HTTP_MAX_CONNECTIONS_PER_CLIENT) and long
timeouts, so idle connections hold their places while the test looks. Attackers connect from
other loopback addresses (127.0.0.2, 127.0.0.3) than the normal user (127.0.0.1).
"""

from __future__ import annotations

import contextlib
import socket

import pytest
from websockets.sync.client import connect

from harness.live_server import free_port, new_user, wait_for
from harness.producer import RawStream, parse_answer

PER_CLIENT = 4
PER_PROCESS = 10


@pytest.fixture
def capped_server(start_server):
    return start_server(
        name="capped",
        HTTP_MAX_CONNECTIONS=str(PER_PROCESS),
        HTTP_MAX_CONNECTIONS_PER_CLIENT=str(PER_CLIENT),
        HTTP_FIRST_BYTE_TIMEOUT="120",
        HTTP_HEADER_TIMEOUT="120",
        STREAM_PORT=str(free_port()),
    )


@pytest.fixture
def idle_connections():
    """Opens idle connections from a given source address; all are closed afterwards."""
    opened: list[socket.socket] = []

    def open_idle(port: int, source: str, count: int) -> list[socket.socket]:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0))
            sock.sendall(b"GET /login/ HTTP/1.1\r\n")  # a head that never ends
            opened.append(sock)
        return opened[-count:]

    yield open_idle
    for sock in opened:
        with contextlib.suppress(OSError):
            sock.close()


def request_from(port: int, source: str, path: str = "/login/") -> tuple[int, dict | str]:
    """A complete GET from `source`; returns the status and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(source, 0)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    answer = parse_answer(raw)
    return answer.status, answer.body


def test_one_address_past_its_cap_gets_429_while_other_users_stream_and_call_rest(
    capped_server, integration_db, idle_connections
):
    idle_connections(capped_server.port, "127.0.0.2", PER_CLIENT)
    wait_for(lambda: request_from(capped_server.port, "127.0.0.2")[0] == 429, timeout=20)
    status, body = request_from(capped_server.port, "127.0.0.2")
    assert status == 429 and "too many open connections" in body["error"]

    user = new_user(integration_db.env, capped_server.url)
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(capped_server.port, token).open()
    stream.write({"x": 1, "y": 2})
    assert stream.end().json["accepted"] == 1
    assert user.figure(plot["id"])["data"][0]["y"] == [2]


def test_the_stream_listener_shares_the_caps_of_the_main_port(capped_server, idle_connections):
    idle_connections(capped_server.port, "127.0.0.2", PER_CLIENT)
    stream_port = int(capped_server.env["STREAM_PORT"])
    with socket.create_connection(("127.0.0.1", stream_port), timeout=20, source_address=("127.0.0.2", 0)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nplotly-streamtoken: t\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert parse_answer(raw).status == 429


def test_past_the_process_cap_everyone_gets_503_until_connections_close(capped_server, idle_connections):
    held = idle_connections(capped_server.port, "127.0.0.2", PER_CLIENT)
    held += idle_connections(capped_server.port, "127.0.0.3", PER_CLIENT)
    held += idle_connections(capped_server.port, "127.0.0.4", PER_PROCESS - 2 * PER_CLIENT)
    wait_for(lambda: request_from(capped_server.port, "127.0.0.1")[0] == 503, timeout=20)
    status, body = request_from(capped_server.port, "127.0.0.1")
    assert status == 503 and "too many open connections" in body["error"]

    for sock in held:
        sock.close()
    wait_for(lambda: request_from(capped_server.port, "127.0.0.1")[0] == 200, timeout=20)


def test_viewer_sockets_count_while_open_and_are_let_go_when_closed(capped_server, integration_db):
    user = new_user(integration_db.env, capped_server.url)
    plot = user.make_plot([user.make_token()])
    url = f"ws://127.0.0.1:{capped_server.port}/ws/plots/{plot['id']}/"
    with contextlib.ExitStack() as open_viewers:
        for _ in range(PER_CLIENT):
            address = ("127.0.0.1", capped_server.port)
            sock = socket.create_connection(address, timeout=10, source_address=("127.0.0.2", 0))
            viewer = open_viewers.enter_context(connect(url, sock=sock, open_timeout=10))
            assert "figure" in viewer.recv(timeout=10)
        assert request_from(capped_server.port, "127.0.0.2")[0] == 429
    wait_for(lambda: request_from(capped_server.port, "127.0.0.2")[0] == 200, timeout=20)
