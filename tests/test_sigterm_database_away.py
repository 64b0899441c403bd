"""SIGTERM while the database is unreachable loses nothing acknowledged: every producer gets a
503 with its counts, and what it was told was stored is stored, once. Lines accepted but not
stored are stored before exit when the database returns within STREAM_SHUTDOWN_TIMEOUT, and
otherwise reported as not stored (and never stored later).

The database is PostgreSQL behind a TCP proxy of the test's own, which the test stops.
"""

from __future__ import annotations

import json
import signal
import threading

import pytest
from websockets.sync.client import connect

from harness.live_server import Api, LiveServer, new_user, wait_for
from harness.producer import RawStream
from tests.tcp_proxy import proxied_database

LINES_BEFORE, LINES_DURING = 40, 30


@pytest.fixture
def proxied_db(tmp_path):
    with proxied_database(tmp_path) as proxied:
        yield proxied


def viewed_points(server, plot_id: int, seen: dict[int, int]) -> threading.Thread:
    """A viewer counting the points each stream sent it (updates reach viewers before commits)."""
    socket = connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot_id}/", open_timeout=10)

    def read() -> None:
        try:
            for text in socket:
                message = json.loads(text)
                for update in message.get("updates", ()):
                    seen[update["stream"]] = max(seen.get(update["stream"], 0), update["seq"])
        except Exception:
            pass

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def stream_through_the_outage(proxied_db, artifacts, name: str, shutdown_timeout: str, back_after_sigterm: bool):
    database, proxy, proxied_url = proxied_db
    env = {
        "DATABASE_URL": proxied_url,
        "STREAM_SHUTDOWN_TIMEOUT": shutdown_timeout,
        "DATABASE_CONNECT_TIMEOUT": "1",
    }
    server = LiveServer(env, artifacts, name=name).start()
    user = new_user(database.env, server.url)
    tokens = [user.make_token(f"t{i}") for i in range(2)]
    plot = user.make_plot(tokens, maxpoints=1000)
    ids = [user.stream_id(t) for t in tokens]
    seen: dict[int, int] = {}
    viewed_points(server, plot["id"], seen)
    streams = [RawStream(server.port, t).open() for t in tokens]
    for stream in streams:
        for x in range(LINES_BEFORE):
            stream.write({"x": x, "y": x})
    wait_for(lambda: all(user.stream_status(t)["accepted"] == LINES_BEFORE for t in tokens), message="stored")

    proxy.stop()
    for stream in streams:
        for x in range(LINES_BEFORE, LINES_BEFORE + LINES_DURING):
            stream.write({"x": x, "y": x})
    total = LINES_BEFORE + LINES_DURING
    wait_for(lambda: all(seen.get(i, 0) >= total for i in ids), message="every line accepted (seen by a viewer)")

    server.process.send_signal(signal.SIGTERM)
    if back_after_sigterm:
        proxy.start()
    answers = [stream.answer(timeout=60) for stream in streams]
    assert server.process.wait(60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    server.log.close()
    # What is stored, read by a server on the database directly.
    reader = LiveServer(database.env, artifacts, name=f"{name}-after").start()
    try:
        stored = [trace["x"] for trace in Api(reader.url, user.username, user.key).figure(plot["id"])["data"]]
    finally:
        reader.stop()
    return answers, stored, total, server


@pytest.mark.long
def test_sigterm_with_the_database_away_answers_503_with_what_was_stored_and_stores_no_more(proxied_db, artifacts):
    answers, stored, total, server = stream_through_the_outage(
        proxied_db, artifacts, "sigterm-db-away", shutdown_timeout="2", back_after_sigterm=False
    )
    for answer, xs in zip(answers, stored, strict=True):
        assert answer.status == 503, answer.json
        body = answer.json
        assert body["accepted"] + body.get("not_stored", 0) == total
        assert body["accepted"] >= LINES_BEFORE
        # Exactly what the answer says was stored: nothing acknowledged lost, nothing twice.
        assert xs == list(range(body["accepted"]))
        if body.get("not_stored"):
            assert "not stored" in body["message"]
    # One line per kind of failure per interval, not one per retry, stream or line. The alerts'
    # timer, stopped last, tries the database until then: its two kinds (its lease, its reads)
    # come once per 10 s interval each while the shutdown waits, up to six lines.
    failures = [line for line in server.log_text().splitlines() if " WARNING " in line or " ERROR " in line]
    assert len(failures) <= 16, failures


def test_sigterm_stores_every_accepted_line_when_the_database_returns_in_time(proxied_db, artifacts):
    answers, stored, total, _ = stream_through_the_outage(
        proxied_db, artifacts, "sigterm-db-back", shutdown_timeout="30", back_after_sigterm=True
    )
    for answer, xs in zip(answers, stored, strict=True):
        assert (answer.status, answer.json["accepted"], answer.json.get("not_stored")) == (503, total, None)
        assert answer.json["message"] == "the server is restarting: reconnect"
        assert xs == list(range(total))
