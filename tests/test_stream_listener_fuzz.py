"""The stream listener is hostile-input surface: random bytes never crash it or lose a point."""

from __future__ import annotations

import contextlib
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.live_server import free_port, new_user
from harness.producer import RawStream, parse_answer
from streaming.ingest import FramingError
from streaming.listener import BadRequest, ChunkedDecoder, body_reader, parse_head


def decode_chunked(data: bytes, split_every: int = 0) -> bytes:
    decoder = ChunkedDecoder()
    pieces = [data[i : i + split_every] for i in range(0, len(data), split_every)] if split_every else [data]
    out = b""
    for piece in pieces:
        out += decoder.feed(piece)
        if decoder.broken:
            raise FramingError
    return out


def encode_chunked(parts: list[bytes], stray_crlfs: list[bool]) -> bytes:
    encoded = b""
    for i, part in enumerate(parts):
        if i < len(stray_crlfs) and stray_crlfs[i]:
            encoded += b"\r\n"
        encoded += b"%x\r\n%s\r\n" % (len(part), part)
    return encoded + b"\r\n0\r\n\r\n"


@given(
    st.lists(st.binary(min_size=1, max_size=300), max_size=20),
    st.lists(st.booleans(), max_size=20),
    st.integers(min_value=0, max_value=50),
)
def test_any_chunking_with_stray_blank_lines_decodes_to_the_same_body_however_it_arrives(parts, stray, split):
    assert decode_chunked(encode_chunked(parts, stray), split) == b"".join(parts)


@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=50))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_as_a_chunked_body_decode_or_end_in_a_framing_error(data, split):
    with contextlib.suppress(FramingError):
        decode_chunked(data, split)


@given(st.binary(max_size=2000))
def test_random_bytes_as_a_request_head_are_a_bad_request_or_a_parsed_head(data):
    try:
        method, headers = parse_head(data)
    except BadRequest:
        return
    assert isinstance(method, str) and isinstance(headers, dict)
    with contextlib.suppress(BadRequest):
        body_reader(None, headers)


def test_payload_before_broken_framing_is_kept():
    decoder = ChunkedDecoder()
    assert decoder.feed(b'e\r\n{"x":1,"y":1}\n\r\nzz\r\n') == b'{"x":1,"y":1}\n'
    assert decoder.broken


# Each piece of garbage, and the answer it gets: a status, or None for a close without one
# (nothing that reads as a request head arrived before the client shut its side).
GARBAGE = [
    (b"", None),
    (b"\r\n\r\n", None),  # blank lines before a request are skipped, as HTTP allows; then the end
    (b"POST\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nplotly-streamtoken: a\r\nContent-Length: -5\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nplotly-streamtoken: a\r\nContent-Length: ten\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nno colon here\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n", 400),
    (b"\xff\xfe\xfd / HTTP/1.1\r\n\r\n", 405),
    (bytes(range(256)) * 4, None),
]


@pytest.fixture
def listener_server(start_server):
    server = start_server(name="fuzz", STREAM_PORT=str(free_port()))
    server.stream_port = int(server.env["STREAM_PORT"])
    return server


def test_garbage_gets_an_answer_or_a_close_and_the_listener_keeps_serving(listener_server, integration_db):
    answers = []
    for garbage, _ in GARBAGE:
        with socket.create_connection(("127.0.0.1", listener_server.stream_port), timeout=10) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        answers.append(parse_answer(raw).status if raw else None)
    assert answers == [expected for _, expected in GARBAGE]

    user = new_user(integration_db.env, listener_server.url)
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(listener_server.stream_port, token).open()
    stream.write({"x": 1, "y": 1})
    assert stream.end().status == 200
    assert user.figure(plot["id"])["data"][0]["x"] == [1]
