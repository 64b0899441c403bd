"""/readyz says ready while every database connection of the pool is in use and the database
answers (asked on a connection of the check's own): the process is busy, not cut off. A check that waited for a
connection answered 503 (no answer within READYZ_TIMEOUT) and would take a loaded process out of
its load balancer, and its load onto the others. A real server on a PostgreSQL database of the
test's own, whose history tables another client locks so that two reads hold both connections."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from harness.live_server import fetch, new_user, wait_for
from harness.producer import send_lines
from tests.postgres import server_connections


@pytest.mark.long
def test_readyz_is_ready_while_every_pooled_connection_is_busy(start_server, own_database):
    server = start_server(
        name="readyz-busy",
        DATABASE_URL=own_database.url,
        DATABASE_POOL_SIZE="2",
        HISTORY_READS_PER_CLIENT="4",
    )
    alice = new_user({"DATABASE_URL": own_database.url}, server.url)
    token = alice.make_token()
    plot = alice.make_plot([token], title="kept", retention="forever")
    assert send_lines(server.port, token, [{"x": i, "y": i} for i in range(20)]).json["accepted"] == 20
    points = f"/api/plots/{plot['id']}/traces/0/points/?method=none"

    with psycopg.connect(own_database.url, application_name="test") as locker, ThreadPoolExecutor(2) as readers:
        locker.execute("LOCK TABLE streaming_streamchunk, history_historyblock IN ACCESS EXCLUSIVE MODE")
        reads = [readers.submit(alice.request, "GET", points, timeout=120) for _ in range(2)]
        wait_for(lambda: server_connections(own_database, wait_event_type="Lock") == 2, timeout=60)

        status, _, body = fetch(f"{server.url}/readyz")
        assert status == 200, body
        assert json.loads(body)["checks"]["database"] == "ok"
        locker.rollback()
        # Each read is answered: its points, or (a read that needed one more connection while
        # both were held) the pool's own 503.
        answers = [read.result(timeout=120) for read in reads]
        assert all(status == 200 or "DATABASE_POOL_SIZE" in body["message"] for status, body in answers), answers
        assert any(status == 200 for status, _ in answers)
    assert fetch(f"{server.url}/readyz")[0] == 200
