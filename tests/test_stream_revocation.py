"""Revoking a token ends its open stream (410) within a second and refuses new ones (404)."""

from __future__ import annotations

import time

from tests.live_server import wait_for
from tests.producer import RawStream


def test_revoking_ends_the_open_stream_with_410_and_keeps_its_points(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 1})
    wait_for(lambda: producer.stream_status(token)["connected"])
    started = time.monotonic()
    producer.revoke(token)
    answer = stream.answer(timeout=5)
    assert time.monotonic() - started < 1.0
    assert (answer.status, answer.json["message"]) == (410, "the stream token was revoked")
    assert producer.figure(plot["id"])["data"][0]["x"] == [1]


def test_a_revoked_token_is_refused_with_404(server, producer):
    token = producer.make_token()
    producer.revoke(token)
    assert RawStream(server.port, token).open().answer().status == 404
