"""The client's Stream class against a real server: writes, answers, heartbeats, refusals."""

from __future__ import annotations

import time

import pytest

from harness.live_server import new_user, wait_for
from tests.client_module import plotserver_client as client


def test_a_stream_delivers_every_write_and_close_returns_the_counts(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=1000)
    with client.Stream(server.url, token) as stream:
        for i in range(200):
            stream.write({"x": i, "y": i * 2})
        stream.write('{"x": 200, "y": 400}\n')
        stream.write(b'{"x": 201, "y": 402}')
    assert stream.totals() == {
        "sent": 202,
        "accepted": 202,
        "rejected": 0,
        "skipped": 0,
        "pending": 0,
        "reconnects": 0,
    }
    figure = producer.figure(plot["id"])
    assert figure["data"][0]["x"] == list(range(202))


def test_rejected_lines_are_counted_and_not_sent_again(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    stream = client.Stream(server.url, token)
    stream.write({"x": 1, "y": 1})
    stream.write("not json")
    stream.write({"x": 2, "y": 2})
    totals = stream.close()
    assert (totals["accepted"], totals["rejected"], totals["pending"]) == (2, 1, 0)
    assert stream.last_error["line"] == 2


def test_an_unknown_token_raises_a_stream_error_saying_so(server):
    stream = client.Stream(server.url, "no-such-token")
    stream.write({"x": 1, "y": 1})  # the refusal is on its way back
    with pytest.raises(client.StreamError) as refused:
        stream.close()
    assert refused.value.status == 404
    assert "unknown or revoked stream token" in str(refused.value)
    with pytest.raises(client.StreamError):
        stream.write({"x": 2, "y": 2})


def test_heartbeats_keep_a_quiet_stream_open_past_the_idle_timeout(start_server, integration_db):
    # Heartbeats ten times per idle timeout: a margin that a loaded machine cannot use up.
    server = start_server(name="client-idle", STREAM_IDLE_TIMEOUT="2")
    user = new_user(integration_db.env, server.url)
    token = user.make_token()
    plot = user.make_plot([token])
    stream = client.Stream(server.url, token, heartbeat=0.2)
    stream.write({"x": 0, "y": 0})
    time.sleep(4)  # the quiet spell under test (two idle timeouts without a write), not a wait for the server
    stream.write({"x": 1, "y": 1})
    totals = stream.close()
    assert totals["reconnects"] == 0, "the server ended the quiet stream: no heartbeat reached it"
    assert totals["accepted"] == 2
    assert user.figure(plot["id"])["data"][0]["x"] == [0, 1]


def test_a_stream_bounds_its_unacknowledged_lines_by_ending_the_request(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=1000)
    stream = client.Stream(server.url, token, max_pending_bytes=2000)
    for i in range(500):
        stream.write({"x": i, "y": i})
        assert stream._pending_bytes <= 2000
    # Every request ended cleanly (200) and was acknowledged: no reconnection was needed.
    assert stream.accepted > 0
    assert stream.close()["reconnects"] == 0
    assert producer.figure(plot["id"])["data"][0]["x"] == list(range(500))


def test_a_revoked_token_stops_the_stream_with_its_reason(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    stream = client.Stream(server.url, token, heartbeat=0.2)
    stream.write({"x": 0, "y": 0})
    wait_for(lambda: producer.stream_status(token)["accepted"] == 1)
    producer.revoke(token)

    def refused():
        try:
            stream.write({"x": 1, "y": 1})
        except client.StreamError as error:
            return error
        return None

    error = wait_for(refused, timeout=10, interval=0.1, message="the revocation to reach the client")
    assert error.status == 410
    assert stream.accepted >= 1
