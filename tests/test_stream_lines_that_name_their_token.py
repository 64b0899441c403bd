"""A stream without a `plotly-streamtoken` header: each line names its token (`"streamtoken"`),
and one connection feeds several tokens, each as if it had a connection of its own, on both
doors (the main port and the stream listener)."""

from __future__ import annotations

import pytest

from harness.live_server import LiveServer, free_port, new_user, wait_for
from harness.producer import RawStream

MAX_TOKENS = 3


@pytest.fixture(scope="module")
def door_server(integration_db, artifacts):
    env = {
        **integration_db.env,
        "STREAM_PORT": str(free_port()),
        "STREAM_CONNECTION_MAX_TOKENS": str(MAX_TOKENS),
        "STREAM_TAKEOVER_TIMEOUT": "10",
    }
    server = LiveServer(env, artifacts, name="token-lines").start()
    server.stream_port = int(env["STREAM_PORT"])
    yield server
    server.stop(timeout=30)


@pytest.fixture(params=["main port", "listener"])
def door(request, door_server):
    """The port of one of the two doors."""
    return door_server.port if request.param == "main port" else door_server.stream_port


@pytest.fixture
def user(door_server, integration_db):
    return new_user(integration_db.env, door_server.url)


@pytest.fixture
def two_traces(user):
    """Two tokens feeding the two traces of one plot: (tokens, plot)."""
    tokens = [user.make_token("a"), user.make_token("b")]
    return tokens, user.make_plot(tokens)


def line(token: str | None, x: int, y: float = 1.0) -> dict:
    return {"x": x, "y": y} if token is None else {"x": x, "y": y, "streamtoken": token}


def xs(user, plot) -> list[list]:
    return [trace["x"] for trace in user.figure(plot["id"])["data"]]


def test_interleaved_tokens_feed_their_own_traces_and_are_counted_per_token(door, user, two_traces):
    (a, b), plot = two_traces
    stream = RawStream(door, None).open()
    for x in range(3):
        stream.write(line(a, x))
        stream.write(line(b, 10 + x))
    answer = stream.end()
    assert (answer.status, answer.json["accepted"], answer.json["rejected"]) == (200, 6, 0)
    assert {token: (t["status"], t["accepted"]) for token, t in answer.json["tokens"].items()} == {
        a: (200, 3),
        b: (200, 3),
    }
    assert xs(user, plot) == [[0, 1, 2], [10, 11, 12]]
    for token in (a, b):
        status = user.stream_status(token)
        assert (status["accepted"], status["connected"]) == (3, False)


def test_lines_of_one_token_may_come_in_one_chunk_with_the_others(door, user, two_traces):
    (a, b), plot = two_traces
    stream = RawStream(door, None).open()
    stream.write(b'{"x": 1, "streamtoken": "%s"}\n{"x": 2, "streamtoken": "%s"}\n' % (a.encode(), b.encode()))
    assert stream.end().json["accepted"] == 2
    assert xs(user, plot) == [[1], [2]]


def test_a_newer_connection_takes_one_token_over_and_the_other_flows_on(door, user, two_traces):
    (a, b), plot = two_traces
    shared = RawStream(door, None).open()
    shared.write(line(a, 1))
    shared.write(line(b, 1))
    wait_for(lambda: user.stream_status(b)["accepted"] == 1, timeout=30)

    newer = RawStream(door, a).open()  # a's own connection, with the header: it takes `a` over
    newer.write({"x": 2, "y": 2})
    wait_for(lambda: user.stream_status(a)["accepted"] == 2, timeout=30)
    assert not shared.has_answered()
    shared.write(line(a, 99))  # a is no longer this connection's: rejected alone
    shared.write(line(b, 2))
    answer = shared.end()
    assert (answer.status, answer.json["accepted"], answer.json["rejected"]) == (200, 3, 1)
    taken = answer.json["tokens"][a]
    assert (taken["status"], taken["accepted"], taken["rejected"]) == (409, 1, 1)
    assert taken["last_error"]["line"] == 3
    assert taken["last_error"]["message"].startswith("a newer connection with the same stream token took over")
    assert (answer.json["tokens"][b]["status"], answer.json["tokens"][b]["accepted"]) == (200, 2)
    assert newer.end().json["accepted"] == 1
    assert xs(user, plot) == [[1, 2], [1, 2]]
    assert user.stream_status(a)["takeovers"] == 1


def test_revoking_one_token_ends_its_stream_alone(door, user, two_traces):
    (a, b), plot = two_traces
    stream = RawStream(door, None).open()
    stream.write(line(a, 1))
    stream.write(line(b, 1))
    wait_for(lambda: user.stream_status(a)["accepted"] == 1 and user.stream_status(b)["accepted"] == 1, timeout=30)
    user.revoke(a)
    wait_for(lambda: not user.stream_status(a)["connected"], timeout=30)
    stream.write(line(a, 2))
    stream.write(line(b, 2))
    answer = stream.end()
    revoked = answer.json["tokens"][a]
    assert (revoked["status"], revoked["accepted"], revoked["rejected"]) == (410, 1, 1)
    assert revoked["message"] == "the stream token was revoked"
    assert (answer.status, answer.json["tokens"][b]["accepted"]) == (200, 2)
    assert xs(user, plot) == [[1], [1, 2]]


def test_unknown_and_missing_tokens_and_bad_lines_are_rejected_alone(door, user, two_traces):
    (a, b), plot = two_traces
    stream = RawStream(door, None).open()
    stream.write(line(a, 1))  # 1
    stream.write(line("no-such-token-anywhere", 2))  # 2: unknown
    stream.write(line(None, 3))  # 3: names no token
    stream.write(b"not json\n")  # 4
    stream.write(b'{"x": 5, "streamtoken": 5}\n')  # 5: a token is a string
    stream.write({"x": 6, "colour": "red", "streamtoken": b})  # 6: b's own bad line
    stream.write(b"\n")  # 7: a heartbeat
    stream.write(line("no-such-token-anywhere", 8))  # 8: refused again, without asking the database
    stream.write(line(a, 9))  # 9
    answer = stream.end()
    body = answer.json
    assert (answer.status, body["accepted"], body["rejected"]) == (200, 2, 6)
    unknown = body["tokens"]["no-such-token-anywhere"]
    assert (unknown["status"], unknown["accepted"], unknown["rejected"]) == (404, 0, 2)
    assert unknown["rejections"] == [
        {"reason": "unknown or revoked stream token: rejected alone", "count": 2, "lines": [2, 8]}
    ]
    reasons = {r["reason"]: r["lines"] for r in body["rejections"]}
    assert reasons[next(r for r in reasons if r.startswith("the line names no stream token"))] == [3]
    assert any(r.startswith("not JSON") and lines == [4] for r, lines in reasons.items())
    assert any(r.startswith("streamtoken: expected the stream token") and ls == [5] for r, ls in reasons.items())
    assert (body["tokens"][b]["accepted"], body["tokens"][b]["last_error"]["line"]) == (0, 6)
    assert "colour" in body["tokens"][b]["last_error"]["message"]
    assert body["tokens"][a]["accepted"] == 2
    assert xs(user, plot) == [[1, 9], []]
    status_b = user.stream_status(b)  # the token's own status keeps its rejection
    assert (status_b["rejected"], status_b["last_error"]["line"]) == (1, 6)


def test_a_connection_feeds_at_most_the_bound_of_tokens(door, user):
    tokens = [user.make_token() for _ in range(MAX_TOKENS + 1)]
    plot = user.make_plot(tokens)
    stream = RawStream(door, None).open()
    for x, token in enumerate(tokens):
        stream.write(line(token, x))
    stream.write(line(tokens[0], 10))
    answer = stream.end()
    assert (answer.json["accepted"], answer.json["rejected"]) == (MAX_TOKENS + 1, 1)
    assert set(answer.json["tokens"]) == set(tokens[:MAX_TOKENS])
    assert answer.json["last_error"]["line"] == MAX_TOKENS + 1
    assert f"STREAM_CONNECTION_MAX_TOKENS ({MAX_TOKENS})" in answer.json["last_error"]["message"]
    assert xs(user, plot) == [[0, 10], [1], [2], []]


def test_with_the_header_a_streamtoken_key_is_not_a_token_but_an_unknown_attribute(door, user, two_traces):
    (a, _), plot = two_traces
    stream = RawStream(door, a).open()
    stream.write({"x": 1, "streamtoken": "ignored-here"})  # with the header, the key is an attribute
    answer = stream.end()
    assert (answer.json["accepted"], answer.json["rejected"]) == (0, 1)
    assert answer.json["last_error"]["message"].startswith("streamtoken: this attribute cannot be streamed")
    assert "tokens" not in answer.json
    assert xs(user, plot) == [[], []]
