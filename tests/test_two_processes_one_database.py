"""A second server process on the same database does not end the first one's streams: a process
forgets at its start only the streams whose lease has run out (a crashed process's), never those
another live process renews. Newest-connection-wins still holds across the two. With the
embedded default (SQLite, no Redis) a second process once ended every open stream of the first
with 409 about three seconds after it started. Real servers, real sockets."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import psycopg

from harness.live_server import new_user, wait_for
from harness.producer import RawStream
from streaming.leases import LEASE


def lease_until(integration_db, token_id: int) -> datetime:
    """The token's lease as the database holds it (what its holder renews every few seconds)."""
    url = integration_db.url
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            (text,) = db.execute("SELECT lease_until FROM plots_streamtoken WHERE id = ?", (token_id,)).fetchone()
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    with psycopg.connect(url) as db:
        row = db.execute("SELECT lease_until FROM plots_streamtoken WHERE id = %s", (token_id,)).fetchone()
    assert row is not None
    return row[0]


def test_a_second_process_leaves_the_first_ones_streams_open_and_the_newest_connection_still_wins(
    start_server, integration_db
):
    first = start_server("first-process")
    user = new_user(integration_db.env, first.url)
    token = user.make_token()
    plot = user.make_plot([token])
    stream = RawStream(first.port, token).open()
    stream.write({"x": 1, "y": 1})
    wait_for(lambda: user.stream_status(token)["accepted"] == 1, message="the first point stored")

    second = start_server("second-process")
    started = datetime.now(UTC)
    # The second process forgets crashed streams at its start, and again once a lease has had
    # time to run out. The first process renewing its lease after both says it still holds it.
    renewed_after = started + 2 * LEASE + timedelta(seconds=1)
    wait_for(
        lambda: lease_until(integration_db, user.stream_id(token)) > renewed_after,
        timeout=60,
        interval=0.5,
        message="the first process renewing its stream's lease after the second one's start",
    )
    stream.write({"x": 2, "y": 2})
    wait_for(lambda: user.stream_status(token)["accepted"] == 2, message="the second point stored")
    assert not stream.has_answered(), "the first process's stream was ended"

    # A newer connection through the second process takes the token over.
    newer = RawStream(second.port, token).open()
    newer.write({"x": 3, "y": 3})
    assert stream.answer(timeout=30).status == 409
    answer = newer.end()
    assert (answer.status, answer.json["accepted"]) == (200, 1)
    assert user.figure(plot["id"])["data"][0]["x"][-3:] == [1, 2, 3]
