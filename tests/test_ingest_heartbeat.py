"""Heartbeats keep a stream open; STREAM_IDLE_TIMEOUT seconds without a byte end it with 408."""

from __future__ import annotations

import time

import pytest

from harness.live_server import new_user, wait_for
from harness.producer import RawStream

IDLE_TIMEOUT = 2.0
# Heartbeats ten times as often as the timeout requires: a margin that a loaded machine's
# scheduling delays cannot use up.
HEARTBEAT_PACE = IDLE_TIMEOUT / 10


@pytest.fixture
def quick_server(start_server):
    return start_server(name="idle", STREAM_IDLE_TIMEOUT=str(IDLE_TIMEOUT))


def test_heartbeats_keep_a_quiet_stream_open(quick_server, integration_db):
    user = new_user(integration_db.env, quick_server.url)
    token = user.make_token()
    stream = RawStream(quick_server.port, token).open()
    stream.write({"x": 1})
    started = time.monotonic()
    while time.monotonic() - started < 1.5 * IDLE_TIMEOUT:  # outlives the timeout
        stream.write("\n")
        assert not stream.has_answered()
        time.sleep(HEARTBEAT_PACE)  # a producer's pace between heartbeats, not a wait for the server
    answer = stream.end()
    assert (answer.status, answer.json["accepted"]) == (200, 1)


def test_a_stream_without_a_byte_for_the_idle_timeout_ends_with_408(quick_server, integration_db):
    user = new_user(integration_db.env, quick_server.url)
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(quick_server.port, token).open()
    stream.write({"x": 1, "y": 1})
    started = time.monotonic()
    answer = stream.answer(timeout=10 * IDLE_TIMEOUT)
    assert answer.status == 408
    # Never early (the server's clock starts after this write); how late is up to the machine.
    assert time.monotonic() - started >= 0.9 * IDLE_TIMEOUT
    assert "heartbeat" in answer.json["message"]
    assert answer.json["accepted"] == 1
    wait_for(lambda: user.figure(plot["id"])["data"][0]["x"] == [1])
