"""A crafted line costs only itself: it is rejected, and every other stream keeps flowing.

Performs the attack of a deeply nested line against a real server, through both doors.
"""

from __future__ import annotations

import signal

import pytest

from harness.live_server import new_user, wait_for
from harness.producer import RawStream

SHALLOW_BOMB = b'{"x": ' + b"[" * 500 + b"1" + b"]" * 500 + b"}\n"  # about 1 KB
DEEP_BOMB = b'{"x": ' + b"[" * 100_000 + b"1" + b"]" * 100_000 + b"}\n"
LAYOUT_BOMB = b'{"layout": {"annotations": ' + b"[" * 500 + b"]" * 500 + b"}}\n"


@pytest.fixture
def listening_server(start_server):
    from harness.live_server import free_port

    port = free_port()
    server = start_server(name="hostile", STREAM_PORT=str(port), STREAM_HOST="127.0.0.1")
    server.stream_port = port
    return server


@pytest.mark.parametrize("door", ["main port", "stream listener"])
def test_a_deeply_nested_line_is_rejected_and_other_streams_keep_flowing(listening_server, integration_db, door):
    server = listening_server
    victim = new_user(integration_db.env, server.url)
    attacker = new_user(integration_db.env, server.url)
    victim_token = victim.make_token()
    plot = victim.make_plot([victim_token])
    attacker_token = attacker.make_token()
    attacker_plot = attacker.make_plot([attacker_token])
    port = server.port if door == "main port" else server.stream_port

    steady = RawStream(port, victim_token).open()
    steady.write({"x": 1, "y": 1})
    wait_for(lambda: victim.figure(plot["id"])["data"][0]["x"] == [1], message="the victim's first point")

    hostile = RawStream(port, attacker_token).open()
    hostile.write({"x": 1, "y": 1})
    for bomb in (SHALLOW_BOMB, DEEP_BOMB, LAYOUT_BOMB):
        hostile.write(bomb)
    hostile.write({"x": 2, "y": 2})
    answer = hostile.end()

    assert answer.status == 200
    assert (answer.json["accepted"], answer.json["rejected"]) == (2, 3)
    assert "nested" in answer.json["last_error"]["message"]
    assert attacker.figure(attacker_plot["id"])["data"][0]["x"] == [1, 2]

    # The commit loop is not stuck: the other user's stream is still stored and published.
    for x in range(2, 6):
        steady.write({"x": x, "y": x})
    wait_for(lambda: victim.figure(plot["id"])["data"][0]["x"] == [1, 2, 3, 4, 5], message="the victim's points")
    assert steady.end().json["accepted"] == 5
    wait_for(lambda: attacker.stream_status(attacker_token)["connected"] is False)
    # And the server still stops promptly, answering nothing it did not owe.
    assert server.stop(signal.SIGTERM, timeout=30) in (0, -signal.SIGTERM)
    assert "RecursionError" not in server.log_text()
