"""An Arduino sketch of Plotly's streaming library, changed only in the server it connects to:
it creates its plot through /clientresp and streams with its millisecond clock turned into local
time, with the exact bytes the library sends, on both stream doors: its current version streams
two traces over one connection, each line naming its token."""

from __future__ import annotations

import itertools
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from harness.live_server import free_port, manage, new_user
from harness.producer import parse_answer
from tests.arduino_bytes import PLOTLY_OLD_ADDRESS, clientresp_bytes, exchange, point_chunk, stream_head

PUBLIC_URL = "http://plots.example.net:8080"
ZONE = "America/Montreal"


@pytest.fixture(scope="module")
def arduino_server(integration_db, artifacts):
    from harness.live_server import LiveServer

    env = {**integration_db.env, "STREAM_PORT": str(free_port()), "PUBLIC_URL": PUBLIC_URL}
    server = LiveServer(env, artifacts, name="arduino").start()
    server.stream_port = int(env["STREAM_PORT"])
    yield server
    server.stop(timeout=30)


@pytest.fixture
def board(arduino_server, integration_db):
    """A user whose two 10-character Plotly tokens were brought over (POST /api/streams/ with its
    token), and then its 10-character Plotly API key (`manage.py apikey --key`): the sketch keeps
    its own. `made_key` is the 43-character key plotserver made first."""
    user = new_user(integration_db.env, arduino_server.url)
    suffix = user.username[-4:]
    user.tokens = [f"ardA00{suffix}", f"ardB00{suffix}"]
    for token in user.tokens:
        assert user.make_stream("board", token=token)["token"] == token
    user.made_key = user.key
    user.key = f"plk{user.username[-7:]}"
    assert manage("apikey", user.username, f"--key={user.key}", env=integration_db.env).strip() == user.key
    return user


def traces_of(tokens: list[str]) -> list[dict]:
    return [{"y": [], "x": [], "type": "scatter", "stream": {"token": t, "maxpoints": 30}} for t in tokens]


@pytest.mark.parametrize("host", [PLOTLY_OLD_ADDRESS, "plot.ly"])
def test_clientresp_with_plotlys_host_and_no_content_type_makes_the_plot_and_says_all_streams_go(
    arduino_server, board, host
):
    request = clientresp_bytes(board.username, board.key, traces_of(board.tokens), "arduino", host)
    answer, raw = exchange(arduino_server.port, request)  # read until the server closes, as the board does
    assert answer.status == 200
    assert answer.headers["connection"] == "close"
    assert b"All Streams Go!" in raw
    assert answer.json["error"] == ""
    # The text the library looks for to print the link, with Plotly's space after the colon.
    assert f'"url": "{PUBLIC_URL}/~{board.username}/'.encode() in raw
    assert host.encode() not in raw
    plot_id = int(answer.json["url"].rsplit("/", 1)[1])
    figure = board.ok("GET", f"/v2/plots/{board.username}:{plot_id}/content")  # the owner's: tokens kept
    assert [trace["stream"]["token"] for trace in figure["data"]] == board.tokens


def stream_points(port: int, token: str, points: list[tuple[int, float]], host: str = "stream.plot.ly") -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(stream_head(token, ZONE, host))
        for millis, value in points:
            sock.sendall(point_chunk(millis, value))
        sock.sendall(b"0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    answer = parse_answer(raw)
    assert answer.status == 200, answer.body
    return answer.json


def test_two_traces_stream_their_millis_as_local_dates_through_both_doors(arduino_server, board):
    request = clientresp_bytes(board.username, board.key, traces_of(board.tokens), "two traces", "plot.ly")
    answer, _ = exchange(arduino_server.port, request)
    plot_id = int(answer.json["url"].rsplit("/", 1)[1])
    before = datetime.now(UTC)
    # millis() of a board that booted 81 s ago, one point a second; the listener (Plotly's port)
    # takes the first token, the main port the second.
    listener = stream_points(arduino_server.stream_port, board.tokens[0], [(81234, 5.0), (82234, 5.25), (83234, 5.5)])
    main = stream_points(arduino_server.port, board.tokens[1], [(500, 1.0), (1750, 2.0)])
    after = datetime.now(UTC)
    assert (listener["accepted"], main["accepted"]) == (3, 2)

    first, second = board.figure(plot_id)["data"]
    local = ZoneInfo(ZONE)

    def instant(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=local)

    for trace, steps in ((first, [0, 1000, 2000]), (second, [0, 1250])):
        dates = [instant(x) for x in trace["x"]]
        assert before - timedelta(seconds=1) <= dates[0] <= after + timedelta(seconds=1)  # anchored on arrival
        assert [round((d - dates[0]).total_seconds() * 1000) for d in dates] == steps
    assert first["y"] == [5.0, 5.25, 5.5]
    assert second["y"] == [1.0, 2.0]


def local_instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=ZoneInfo(ZONE))


@pytest.mark.parametrize("door", ["listener", "main port"])
def test_two_traces_take_turns_on_one_connection_each_line_naming_its_token(arduino_server, board, door):
    request = clientresp_bytes(board.username, board.key, traces_of(board.tokens), "one connection", PLOTLY_OLD_ADDRESS)
    answer, raw = exchange(arduino_server.port, request)
    assert b"All Streams Go!" in raw
    plot_id = int(answer.json["url"].rsplit("/", 1)[1])
    port = arduino_server.stream_port if door == "listener" else arduino_server.port
    first, second = board.tokens
    # The sketch's loop: read two sensors, write each to its trace, with millis() as x.
    writes = [(81234, 5.0, first), (81240, 1.0, second), (82234, 5.25, first), (82241, 2.0, second)]
    before = datetime.now(UTC)
    answer, _ = exchange(
        port,
        stream_head(None, ZONE, "127.0.0.1") + b"".join(point_chunk(*write) for write in writes) + b"0\r\n\r\n",
    )
    after = datetime.now(UTC)
    assert (answer.status, answer.json["accepted"], answer.json["rejected"]) == (200, 4, 0), answer.json
    assert {token: each["accepted"] for token, each in answer.json["tokens"].items()} == {first: 2, second: 2}

    traces = board.figure(plot_id)["data"]
    assert [trace["y"] for trace in traces] == [[5.0, 5.25], [1.0, 2.0]]
    # One board, one clock: every x is counted from the connection's first, anchored on arrival.
    anchor = local_instant(traces[0]["x"][0])
    assert before - timedelta(seconds=1) <= anchor <= after + timedelta(seconds=1)
    steps = [[round((local_instant(x) - anchor).total_seconds() * 1000) for x in t["x"]] for t in traces]
    assert steps == [[0, 1000], [6, 1007]]
    for token in board.tokens:  # each token's own status counts its lines; no line keeps the token
        assert board.stream_status(token)["accepted"] == 2
    assert "streamtoken" not in str(board.figure(plot_id))


@pytest.mark.parametrize("door", ["listener", "main port"])
def test_an_unknown_zone_is_a_400_that_names_it(arduino_server, board, door):
    port = arduino_server.stream_port if door == "listener" else arduino_server.port
    head = stream_head(board.tokens[0], None, "stream.plot.ly").replace(
        b"\r\n\r\n", b'\r\nplotly-convertTimestamp: "America/Atlantis"\r\n\r\n'
    )
    answer, _ = exchange(port, head + point_chunk(1, 1.0) + b"0\r\n\r\n")
    assert answer.status == 400
    assert "America/Atlantis" in answer.json["message"]
    assert answer.json["accepted"] == 0


def test_an_unquoted_zone_is_read_as_well(arduino_server, board):
    request = clientresp_bytes(board.username, board.key, traces_of(board.tokens[:1]), "unquoted", "plot.ly")
    answer, _ = exchange(arduino_server.port, request)
    plot_id = int(answer.json["url"].rsplit("/", 1)[1])
    head = stream_head(board.tokens[0], None, "stream.plot.ly").replace(
        b"\r\n\r\n", b"\r\nplotly-convertTimestamp: Europe/Zurich\r\n\r\n"
    )
    answer, _ = exchange(arduino_server.stream_port, head + point_chunk(10, 1.0) + point_chunk(20, 2.0) + b"0\r\n\r\n")
    assert answer.status == 200
    x = board.figure(plot_id)["data"][0]["x"]
    assert datetime.strptime(x[1], "%Y-%m-%d %H:%M:%S.%f") - datetime.strptime(
        x[0], "%Y-%m-%d %H:%M:%S.%f"
    ) == timedelta(milliseconds=10)


@pytest.mark.parametrize("key", ["brought over", "made by plotserver"])
@pytest.mark.parametrize("count", ["library", "library-without-world-readable", "exact"])
def test_clientresp_is_read_to_its_crlf_whatever_its_content_length_counts(arduino_server, board, count, key):
    """The library's count assumes a 10-character API key (a key plotserver makes is 43) and
    leaves the CRLF out; some versions leave `world_readable` out too. The bytes past it are the body's."""
    filename = f"counted {count} {key}"
    traces = traces_of(board.tokens)
    if key == "made by plotserver":
        board.key = manage("apikey", board.username, f"--key={board.made_key}", env=arduino_server.env).strip()
    request = clientresp_bytes(board.username, board.key, traces, filename, PLOTLY_OLD_ADDRESS, count=count)
    answer, raw = exchange(arduino_server.port, request)
    assert answer.status == 200, raw
    assert raw.count(b"HTTP/1.1 ") == 1  # one answer: the rest of the body was not read as a request
    assert b"All Streams Go!" in raw
    assert answer.json["filename"] == filename
    plot_id = int(answer.json["url"].rsplit("/", 1)[1])
    figure = board.ok("GET", f"/v2/plots/{board.username}:{plot_id}/content")
    assert [trace["stream"]["token"] for trace in figure["data"]] == board.tokens


def test_clientresp_written_in_pieces_is_read_past_its_count_across_reads(arduino_server, board):
    """The board prints its request piece by piece: the counted bytes end in one read and the rest
    of the body comes in the next ones."""
    request = clientresp_bytes(board.username, board.key, traces_of(board.tokens), "in pieces", PLOTLY_OLD_ADDRESS)
    head_end = request.index(b"\r\n\r\n") + 4
    counted_end = head_end + int(request.split(b"Content-Length: ")[1].split(b"\r\n")[0])
    cuts = [0, head_end - 2, head_end + 20, counted_end, counted_end + 10, len(request) - 1, len(request)]
    with socket.create_connection(("127.0.0.1", arduino_server.port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start, end in itertools.pairwise(cuts):
            sock.sendall(request[start:end])
            time.sleep(0.05)  # not a wait for anything: it lets the server read each piece apart
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    answer = parse_answer(raw)
    assert answer.status == 200, raw
    assert raw.count(b"HTTP/1.1 ") == 1
    assert answer.json["filename"] == "in pieces"


def test_a_board_body_whose_crlf_never_comes_is_answered_after_the_tail_timeout(arduino_server, board):
    """Counted exactly but sent without its CRLF: the server waits CLIENTRESP_TAIL_TIMEOUT (1 s)
    for more, then answers what came."""
    request = clientresp_bytes(board.username, board.key, traces_of(board.tokens), "no crlf", "plot.ly", count="exact")
    head, body = request.split(b"\r\n\r\n", 1)
    body = body.removesuffix(b"\r\n")
    request = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(body), head) + b"\r\n\r\n" + body
    answer, raw = exchange(arduino_server.port, request)
    assert answer.status == 200, raw
    assert b"All Streams Go!" in raw
    assert answer.json["filename"] == "no crlf"
