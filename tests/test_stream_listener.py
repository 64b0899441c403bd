"""The stream listener on STREAM_PORT takes the exact bytes Plotly's clients send."""

from __future__ import annotations

import json
import socket

import pytest

from harness.live_server import free_port, new_user, wait_for
from harness.producer import RawStream, parse_answer


@pytest.fixture
def listener_server(start_server):
    server = start_server(name="listener", STREAM_PORT=str(free_port()))
    server.stream_port = int(server.env["STREAM_PORT"])
    return server


@pytest.fixture
def user(listener_server, integration_db):
    return new_user(integration_db.env, listener_server.url)


def send_and_read(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    return raw


def chart_studio_bytes(token: str, writes: list[str]) -> bytes:
    """What chart_studio 1.1.0 sends, byte for byte: two Host headers, its stray CRLF at the end."""
    head = (
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n"
        f"Transfer-Encoding: chunked\r\nHost: 127.0.0.1\r\nplotly-streamtoken: {token}\r\n\r\n"
    )
    body = "".join(f"{len(w):x}\r\n{w}\r\n" for w in writes)
    return (head + body + "\r\n0\r\n\r\n").encode()


def test_chart_studio_bytes_in_one_write_lose_no_point(listener_server, user):
    token = user.make_token()
    plot = user.make_plot([token])
    writes = [json.dumps({"x": i, "y": i * 2}) + "\n" for i in range(10)]
    writes.insert(5, "\n")  # a heartbeat
    writes.append(json.dumps({"x": 10, "y": 20, "layout": {"title": "t2"}}) + "\n")
    answer = parse_answer(send_and_read(listener_server.stream_port, chart_studio_bytes(token, writes)))
    assert answer.status == 200
    assert answer.json["accepted"] == 11
    figure = user.figure(plot["id"])
    assert figure["data"][0]["x"] == list(range(11))
    assert figure["layout"]["title"] == {"text": "t2"}


def test_an_ordinary_chunked_stream_works_on_the_listener(listener_server, user):
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(listener_server.stream_port, token).open()
    stream.write({"x": 1, "y": 1})
    wait_for(lambda: user.figure(plot["id"])["data"][0]["x"] == [1])
    assert not stream.has_answered()
    stream.write({"x": 2, "y": 2})
    answer = stream.end()
    assert (answer.status, answer.json["accepted"]) == (200, 2)
    assert answer.headers["connection"] == "close"


def test_a_resumed_stream_on_the_listener_skips_the_lines_stored_already(listener_server, user):
    token = user.make_token()
    plot = user.make_plot([token])
    for first, xs in ((1, (1, 2, 3)), (2, (2, 3, 4))):
        resume = f"plotserver-resume: listener-stream-0001 {first}"
        stream = RawStream(listener_server.stream_port, token, extra_headers=(resume,)).open()
        stream.write("".join(json.dumps({"x": x, "y": x}) + "\n" for x in xs))
        answer = stream.end()
    assert (answer.status, answer.json["accepted"], answer.json["skipped"]) == (200, 1, 2)
    assert user.figure(plot["id"])["data"][0]["x"] == [1, 2, 3, 4]
    assert user.stream_status(token)["accepted"] == 4


def test_a_content_length_body_works_on_the_listener(listener_server, user):
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(listener_server.stream_port, token, chunked=False)
    stream.send_body(b'{"x": 1, "y": 1}\n{"x": 2, "y": 2}')
    assert stream.answer().json["accepted"] == 2
    assert user.figure(plot["id"])["data"][0]["x"] == [1, 2]


def test_a_body_without_length_is_read_until_the_client_shuts_its_side(listener_server, user):
    token = user.make_token()
    plot = user.make_plot([token])
    with socket.create_connection(("127.0.0.1", listener_server.stream_port), timeout=10) as sock:
        sock.sendall(f"POST / HTTP/1.1\r\nplotly-streamtoken: {token}\r\n\r\n".encode() + b'{"x": 7, "y": 7}\n')
        sock.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    assert parse_answer(raw).json["accepted"] == 1
    assert user.figure(plot["id"])["data"][0]["x"] == [7]


def test_the_listener_answers_405_to_a_get(listener_server):
    raw = send_and_read(listener_server.stream_port, b"GET / HTTP/1.1\r\nplotly-streamtoken: x\r\n\r\n")
    assert parse_answer(raw).status == 405


def test_the_listener_reads_lines_that_name_their_token_without_a_token_header(listener_server):
    raw = send_and_read(listener_server.stream_port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    assert (parse_answer(raw).status, parse_answer(raw).json["tokens"]) == (200, {})


def test_the_listener_answers_404_to_an_unknown_token(listener_server):
    raw = send_and_read(listener_server.stream_port, b"POST / HTTP/1.1\r\nplotly-streamtoken: nobody-has-this\r\n\r\n")
    assert parse_answer(raw).status == 404


def test_broken_chunk_framing_is_a_400_that_keeps_earlier_points(listener_server, user):
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(listener_server.stream_port, token).open()
    stream.write({"x": 1, "y": 1})
    stream.send_raw(b"zz\r\nnot a chunk\r\n")
    answer = stream.answer()
    assert (answer.status, answer.json["accepted"]) == (400, 1)
    assert user.figure(plot["id"])["data"][0]["x"] == [1]


def test_a_garbage_request_line_is_a_400(listener_server):
    raw = send_and_read(listener_server.stream_port, b"\x00\x01\x02 nonsense\r\n\r\n")
    assert parse_answer(raw).status == 400
