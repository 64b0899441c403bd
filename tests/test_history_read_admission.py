"""Heavy reads are admitted, not piled up: at most HISTORY_READS_PER_PROCESS history reads run at
once in a process and HISTORY_READS_PER_CLIENT of one client; past either a read is answered at
once, 503 or 429 with Retry-After, while other requests go on, and a place comes free when its
read ends (a download's when its last byte is sent).

A real server on a PostgreSQL database of the test's own: another client of the database locks
the history's tables, so an admitted read waits inside PostgreSQL, holding its place, until the
test lets go."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import psycopg

from harness.live_server import Api, fetch, new_user, wait_for
from harness.producer import send_lines
from tests.postgres import server_connections


def test_reads_past_the_limits_are_refused_at_once_and_places_come_free_when_reads_end(start_server, own_database):
    server = start_server(
        name="history-admission",
        DATABASE_URL=own_database.url,
        HISTORY_READS_PER_PROCESS="2",
        HISTORY_READS_PER_CLIENT="1",
    )
    alice = new_user({"DATABASE_URL": own_database.url}, server.url)
    bob = new_user({"DATABASE_URL": own_database.url}, server.url)
    visitor = Api(server.url)
    token = alice.make_token()
    plot = alice.make_plot([token], title="kept", retention="forever")
    assert send_lines(server.port, token, [{"x": i, "y": i * i} for i in range(50)]).json["accepted"] == 50
    points = f"/api/plots/{plot['id']}/traces/0/points/?method=none"

    with psycopg.connect(own_database.url, application_name="test") as locker, ThreadPoolExecutor(2) as readers:
        locker.execute("LOCK TABLE streaming_streamchunk, history_historyblock IN ACCESS EXCLUSIVE MODE")
        alices_read = readers.submit(alice.request, "GET", points, timeout=120)
        wait_for(lambda: server_connections(own_database, wait_event_type="Lock") == 1, timeout=60)

        status, body = alice.get(points)
        assert status == 429 and "HISTORY_READS_PER_CLIENT" in body["message"]

        visitors_read = readers.submit(visitor.request, "GET", points, timeout=120)
        wait_for(lambda: server_connections(own_database, wait_event_type="Lock") == 2, timeout=60)

        status, body = bob.get(points)
        assert status == 503 and "HISTORY_READS_PER_PROCESS" in body["message"]
        assert _raw_get(server.url + points) == (429, "2")  # the visitor's second, with when to retry
        # Other requests go on meanwhile (one that reads no stream rows: those are locked here).
        assert bob.get("/api/streams/")[0] == 200
        locker.rollback()

        for read in (alices_read, visitors_read):
            status, body = read.result(timeout=120)
            assert status == 200 and body["points"]["x"] == list(range(50))

    assert bob.get(points)[0] == 200
    # A download holds its place while it is sent, and gives it back at its end.
    assert _raw_get(server.url + f"/api/plots/{plot['id']}/traces/0/points/?format=csv")[0] == 200
    assert visitor.get(points)[0] == 200
    assert alice.get(points)[0] == 200


def _raw_get(url: str) -> tuple[int, str | None]:
    """An anonymous GET, read to its end: its status and Retry-After."""
    status, headers, _ = fetch(url)
    return status, headers.get("retry-after")
