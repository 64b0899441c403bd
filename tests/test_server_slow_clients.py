"""Slow clients (slowloris) cannot hold a door open: both ports cut slow heads and bodies off.

Each test runs a real server with short timeouts (HTTP_FIRST_BYTE_TIMEOUT, HTTP_HEADER_TIMEOUT,
HTTP_BODY_TIMEOUT of 1-2 s) and asserts what a client sees: a JSON 408, or a closed connection.
Deadlines are generous (many times the timeout) so a loaded machine does not fail them.
"""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest

from harness.live_server import free_port, new_user
from harness.producer import RawStream, parse_answer

# How long a test waits for the server to act on a 1-2 s timeout: wide, for loaded machines.
GENEROUS = 30


@pytest.fixture
def impatient_server(start_server):
    """A server whose clients get 1 s for the first byte and the head, 2 s for a body."""
    return start_server(
        name="impatient",
        HTTP_FIRST_BYTE_TIMEOUT="1",
        HTTP_HEADER_TIMEOUT="1",
        HTTP_BODY_TIMEOUT="2",
        STREAM_IDLE_TIMEOUT="60",
        STREAM_PORT=str(free_port()),
    )


def read_until_closed(sock: socket.socket, trickle: bytes = b"", pace: float = 0.2) -> bytes:
    """Send `trickle` a byte at a time at `pace` (a slowloris) while reading; return all the server
    sent by the time it closed the connection. Fails if it is still open after GENEROUS seconds."""
    sock.settimeout(pace)
    received = b""
    deadline = time.monotonic() + GENEROUS
    remaining = trickle
    while time.monotonic() < deadline:
        if remaining:
            try:
                sock.sendall(remaining[:1])
            except (BrokenPipeError, ConnectionResetError):
                remaining = b""
            remaining = remaining[1:]
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not data:
            return received
        received += data
    raise AssertionError(f"the server kept the connection open for {GENEROUS} s (got {received!r})")


SLOW_HEAD = b"GET /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Padding: " + b"a" * 500 + b"\r\n\r\n"


def test_a_connection_that_sends_nothing_is_closed(impatient_server):
    with socket.create_connection(("127.0.0.1", impatient_server.port)) as sock:
        assert read_until_closed(sock) == b""


def test_headers_sent_a_byte_at_a_time_get_408_and_the_connection_closes(impatient_server):
    with socket.create_connection(("127.0.0.1", impatient_server.port)) as sock:
        answer = parse_answer(read_until_closed(sock, trickle=SLOW_HEAD))
    assert answer.status == 408
    assert "headers" in answer.json["error"]


def test_a_body_sent_a_byte_at_a_time_gets_408_and_the_connection_closes(impatient_server, integration_db):
    user = new_user(integration_db.env, impatient_server.url)
    body = json.dumps({"name": "x" * 400}).encode()
    head = (
        "POST /api/streams/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Basic {basic(user)}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", impatient_server.port)) as sock:
        sock.sendall(head)
        answer = parse_answer(read_until_closed(sock, trickle=body))
    assert answer.status == 408
    assert "body" in answer.json["error"]


def test_a_stream_may_be_slower_than_the_body_timeout_while_it_sends_heartbeats(impatient_server, integration_db):
    user = new_user(integration_db.env, impatient_server.url)
    token = user.make_token()
    stream = RawStream(impatient_server.port, token).open()
    stream.write({"x": 1})
    started = time.monotonic()
    while time.monotonic() - started < 5:  # 2.5 times HTTP_BODY_TIMEOUT
        stream.write("\n")
        assert not stream.has_answered()
        # A producer's pace, not a wait for the server: ten heartbeats per HTTP_BODY_TIMEOUT, a margin
        # that a loaded machine's scheduling delays cannot use up.
        time.sleep(0.2)
    stream.write({"x": 2})
    answer = stream.end()
    assert (answer.status, answer.json["accepted"]) == (200, 2)


def test_a_stream_of_lines_that_name_their_token_may_be_slower_than_the_body_timeout(impatient_server, integration_db):
    # A POST to / without the token header is a stream too (Plotly's Arduino library): its body
    # is under the idle timeout alone, as the header form's is.
    user = new_user(integration_db.env, impatient_server.url)
    token = user.make_token()
    stream = RawStream(impatient_server.port, None).open()
    stream.write({"x": 1, "streamtoken": token})
    started = time.monotonic()
    while time.monotonic() - started < 5:  # 2.5 times HTTP_BODY_TIMEOUT
        stream.write("\n")
        assert not stream.has_answered()
        time.sleep(0.2)  # the producer's pace, as in the test above
    stream.write({"x": 2, "streamtoken": token})
    answer = stream.end()
    assert (answer.status, answer.json["accepted"]) == (200, 2)


def test_the_stream_listener_answers_a_slow_head_with_408(impatient_server):
    port = int(impatient_server.env["STREAM_PORT"])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        answer = parse_answer(read_until_closed(sock, trickle=b"POST / HTTP/1.1\r\nplotly-streamtoken: abc" * 20))
    assert answer.status == 408
    assert "headers" in answer.json["error"]


def test_the_stream_listener_closes_a_connection_that_sends_nothing(impatient_server):
    port = int(impatient_server.env["STREAM_PORT"])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        assert read_until_closed(sock) == b""


def basic(user) -> str:
    return base64.b64encode(f"{user.username}:{user.key}".encode()).decode()
