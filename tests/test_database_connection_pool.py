"""Database connections: a process draws on a pool of DATABASE_POOL_SIZE, whatever comes at it.

Before the pool every request could leave its connection open for ten minutes (a connection kept
per thread, and under ASGI a request may run on a thread of its own): 8 anonymous readers drove
PostgreSQL to max_connections, and every application on that server was refused logins. Each test
runs a real server on a PostgreSQL database of its own and counts that server's connections in
pg_stat_activity.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg

from harness.live_server import Api, fetch, new_user, wait_for
from harness.producer import RawStream
from tests.postgres import server_connections
from web.errors import DATABASE_BUSY

CLIENTS = 8
READS_EACH = 40


def test_many_concurrent_readers_share_the_pool_and_idle_connections_close_after(start_server, own_database):
    pool_size = 4
    server = start_server(
        name="pool", DATABASE_URL=own_database.url, DATABASE_POOL_SIZE=str(pool_size), DATABASE_POOL_MAX_IDLE="1"
    )
    owner = new_user({"DATABASE_URL": own_database.url}, server.url)
    plot = owner.make_plot([owner.make_token()])
    visitor = Api(server.url)

    most_seen = 0
    loaded = threading.Event()

    def watch_connections() -> None:
        nonlocal most_seen
        while not loaded.is_set():
            most_seen = max(most_seen, server_connections(own_database))

    watcher = threading.Thread(target=watch_connections)
    watcher.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as clients:
            statuses = list(
                clients.map(lambda _: visitor.get(f"/api/plots/{plot['id']}/")[0], range(CLIENTS * READS_EACH))
            )
    finally:
        loaded.set()
        watcher.join()

    assert statuses == [200] * (CLIENTS * READS_EACH)
    assert 1 <= most_seen <= pool_size
    # Connections idle past DATABASE_POOL_MAX_IDLE close, one a period, down to two: the stream
    # store's (which it keeps) and the one the alerts' timer borrows a few times a second.
    wait_for(lambda: server_connections(own_database) <= 2, timeout=60, message="idle connections to close")


def test_a_request_that_finds_every_connection_busy_gets_503_with_retry_after_and_the_rest_finish(
    start_server, own_database
):
    server = start_server(
        name="pool-busy", DATABASE_URL=own_database.url, DATABASE_POOL_SIZE="3", DATABASE_POOL_TIMEOUT="0.2"
    )
    owner = new_user({"DATABASE_URL": own_database.url}, server.url)
    token = owner.make_token()
    plot = owner.make_plot([token])
    # A stream stored a point: the process's store thread now keeps one connection of the three.
    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 2})
    assert stream.end().json["accepted"] == 1
    visitor = Api(server.url)
    path = f"/api/plots/{plot['id']}/"

    # Another client of the database locks the plots table: two reads take the other two
    # connections and wait inside PostgreSQL until it lets go.
    with psycopg.connect(own_database.url, application_name="test") as locker, ThreadPoolExecutor(2) as readers:
        locker.execute("LOCK TABLE plots_plot IN ACCESS EXCLUSIVE MODE")
        held = [readers.submit(visitor.get, path) for _ in range(2)]
        wait_for(lambda: server_connections(own_database, wait_event_type="Lock") == 2, timeout=30)
        assert server_connections(own_database) == 3

        status, headers, body = fetch(server.url + path)
        locker.rollback()

        assert (status, headers.get("retry-after")) == (503, "5")
        assert json.loads(body) == {"message": DATABASE_BUSY, "errors": [{"message": DATABASE_BUSY}]}
        assert [future.result(timeout=30) for future in held] == [(200, visitor.get(path)[1])] * 2
    assert server_connections(own_database) <= 3
