"""The stream listener is hostile-input surface: random bytes never crash it or lose a point."""

from __future__ import annotations

import asyncio
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streaming.ingest import ConnectionLost, FramingError
from streaming.listener import BadRequest, ChunkedBody, body_reader, read_head
from tests.live_server import free_port, new_user
from tests.producer import RawStream, parse_answer


def reader_with(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=64 * 1024)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def decode_chunked(data: bytes) -> bytes:
    body = ChunkedBody(reader_with(data))
    out = b""
    while (part := await body.read()) is not None:
        out += part
    return out


def encode_chunked(parts: list[bytes], stray_crlfs: list[bool]) -> bytes:
    encoded = b""
    for i, part in enumerate(parts):
        if i < len(stray_crlfs) and stray_crlfs[i]:
            encoded += b"\r\n"
        encoded += b"%x\r\n%s\r\n" % (len(part), part)
    return encoded + b"\r\n0\r\n\r\n"


@given(st.lists(st.binary(min_size=1, max_size=300), max_size=20), st.lists(st.booleans(), max_size=20))
def test_any_chunking_with_stray_blank_lines_decodes_to_the_same_body(parts, stray_crlfs):
    assert asyncio.run(decode_chunked(encode_chunked(parts, stray_crlfs))) == b"".join(parts)


@given(st.binary(max_size=2000))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_as_a_chunked_body_end_in_a_framing_error_or_a_clean_end(data):
    async def run():
        try:
            await decode_chunked(data)
        except (FramingError, ConnectionLost):
            pass

    asyncio.run(run())


@given(st.binary(max_size=2000))
def test_random_bytes_as_a_request_head_are_a_bad_request_or_a_parsed_head(data):
    async def run():
        try:
            method, headers = await read_head(reader_with(data))
        except (BadRequest, ConnectionLost):
            return
        assert isinstance(method, str) and isinstance(headers, dict)
        try:
            read = body_reader(reader_with(b""), headers)
        except BadRequest:
            return
        try:
            await read()
        except (FramingError, ConnectionLost):
            pass

    asyncio.run(run())


GARBAGE = [
    b"",
    b"\r\n\r\n",
    b"POST\r\n\r\n",
    b"POST / HTTP/1.1\r\nplotly-streamtoken: a\r\nContent-Length: -5\r\n\r\n",
    b"POST / HTTP/1.1\r\nplotly-streamtoken: a\r\nContent-Length: ten\r\n\r\n",
    b"POST / HTTP/1.1\r\nno colon here\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70000 + b"\r\n\r\n",
    b"\xff\xfe\xfd / HTTP/1.1\r\n\r\n",
    bytes(range(256)) * 4,
]


@pytest.fixture
def listener_server(start_server):
    server = start_server(name="fuzz", STREAM_PORT=str(free_port()))
    server.stream_port = int(server.env["STREAM_PORT"])
    return server


def test_garbage_gets_an_answer_or_a_close_and_the_listener_keeps_serving(listener_server, integration_db):
    for garbage in GARBAGE:
        with socket.create_connection(("127.0.0.1", listener_server.stream_port), timeout=10) as sock:
            sock.sendall(garbage)
            sock.shutdown(socket.SHUT_WR)
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        if raw:
            assert 400 <= parse_answer(raw).status < 500, (garbage[:40], raw[:100])

    user = new_user(integration_db.env, listener_server.url)
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(listener_server.stream_port, token).open()
    stream.write({"x": 1, "y": 1})
    assert stream.end().status == 200
    assert user.figure(plot["id"])["data"][0]["x"] == [1]
