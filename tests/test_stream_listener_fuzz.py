"""The stream listener is hostile-input surface: random bytes never crash it or lose a point."""

from __future__ import annotations

import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.live_server import free_port, new_user
from harness.producer import RawStream, parse_answer
from streaming.ingest import FramingError
from streaming.listener import BadRequest, ChunkedDecoder, body_reader, parse_head


def feed_pieces(data: bytes, split_every: int = 0) -> tuple[bytes, bool, bool]:
    """Feed `data` to a decoder whole or in pieces of `split_every` bytes, as a socket might
    deliver it; return the payload, whether the framing broke, and whether the body ended."""
    decoder = ChunkedDecoder()
    pieces = [data[i : i + split_every] for i in range(0, len(data), split_every)] if split_every else [data]
    out = b""
    for piece in pieces:
        out += decoder.feed(piece)
        if decoder.broken:
            break
    return out, decoder.broken, decoder.done


def decode_chunked(data: bytes, split_every: int = 0) -> bytes:
    out, broken, _ = feed_pieces(data, split_every)
    if broken:
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


# Pieces that chunked framing is made of, so that random bodies reach every state of the decoder.
FRAMING_PIECES = [b"5\r\nhello\r\n", b"\r\n", b"0\r\n\r\n", b"zz", b"3;ext\r\nabc\r\n", b"x", b"\n", b"1\r\n"]


@given(
    st.one_of(st.binary(max_size=2000), st.lists(st.sampled_from(FRAMING_PIECES), max_size=30).map(b"".join)),
    st.integers(min_value=1, max_value=50),
)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_as_a_chunked_body_decode_the_same_however_they_are_split(data, split):
    """Whatever the bytes, the payload, the break and the end do not depend on how reads cut them,
    and the payload is never longer than what came in."""
    whole = feed_pieces(data)
    assert feed_pieces(data, split) == whole
    assert len(whole[0]) <= len(data)


@given(st.binary(max_size=2000))
def test_random_bytes_as_a_request_head_are_a_bad_request_or_a_parsed_head(data):
    try:
        method, headers = parse_head(data)
    except BadRequest as error:
        assert str(error)  # the answer's message
        return
    assert method == method.upper() and method.strip() == method
    assert all(name == name.strip().lower() and name for name in headers)
    try:
        reader = body_reader(None, headers)
    except BadRequest as error:
        assert "Content-Length" in str(error)
    else:
        assert callable(reader)


HEADER_NAME = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=20
)
HEADER_VALUE = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40)


@given(st.dictionaries(HEADER_NAME, HEADER_VALUE, max_size=10))
def test_a_well_formed_head_parses_to_its_headers_by_lowercase_name_first_value_kept(headers):
    head = "POST / HTTP/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    method, parsed = parse_head(head.encode())
    expected: dict[str, str] = {}
    for name, value in headers.items():
        expected.setdefault(name.lower(), value)
    assert (method, parsed) == ("POST", expected)


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
