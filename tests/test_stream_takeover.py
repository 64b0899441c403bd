"""A second connection with the same token closes the oldest one (409); nothing of either is lost."""

from __future__ import annotations

from harness.live_server import wait_for
from harness.producer import RawStream


def test_the_newest_connection_wins_and_the_oldest_gets_409(server, streaming_plot, producer):
    token, plot, oldest = streaming_plot(first={"x": 1, "y": 1})

    newest = RawStream(server.port, token).open()
    newest.write({"x": 2, "y": 2})
    answer = oldest.answer(timeout=10)
    assert answer.status == 409
    assert answer.json["message"] == "a newer connection with the same stream token took over this stream"
    assert answer.json["accepted"] == 1

    newest.write({"x": 3, "y": 3})
    assert newest.end().json["accepted"] == 2
    assert producer.figure(plot["id"])["data"][0]["x"] == [1, 2, 3]


def test_a_takeover_shows_in_the_token_status(server, streaming_plot, producer):
    token, _, first = streaming_plot(first={"x": 1})
    second = RawStream(server.port, token).open()
    second.write({"x": 2})
    assert first.answer().status == 409
    second.end()
    status = producer.stream_status(token)
    assert status["takeovers"] == 1
    assert status["accepted"] == 2


def test_sequence_numbers_keep_growing_across_a_takeover(server, producer):
    token = producer.make_token()
    first = RawStream(server.port, token).open()
    first.write({"x": 1})
    first.write({"x": 2})
    wait_for(lambda: producer.stream_status(token)["last_seq"] == 2)
    second = RawStream(server.port, token).open()
    second.write({"x": 3})
    assert first.answer().status == 409
    second.end()
    assert producer.stream_status(token)["last_seq"] == 3


def test_of_two_connections_opening_at_once_only_the_later_one_stays(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    streams = [RawStream(server.port, token) for _ in range(2)]
    for stream in streams:  # both heads in flight before either is set up
        stream.open()
    for i, stream in enumerate(streams):
        stream.write({"x": i, "y": i})
    wait_for(lambda: any(s.has_answered() for s in streams), timeout=5)
    loser = next(s for s in streams if s.has_answered())
    winner = next(s for s in streams if s is not loser)
    lost_to_the_newer = loser.answer()
    assert lost_to_the_newer.status == 409
    assert not winner.has_answered()
    kept = winner.end()
    assert (kept.status, kept.json["accepted"]) == (200, 1)
    # The older one's point is stored if it was read before the takeover (its answer counts it),
    # and not otherwise: it is the producer's to send again, never half-stored.
    accepted = {streams.index(winner): 1, streams.index(loser): lost_to_the_newer.json["accepted"]}
    assert sorted(producer.figure(plot["id"])["data"][0]["x"]) == sorted(i for i, n in accepted.items() if n)
