"""A server starts while its database is away, says it is not ready (/readyz 503), answers every
request on both doors with a JSON 503 and Retry-After meanwhile (a stream too, never a 500 or a
silent close), and serves as usual as soon as the database is back.

The database is PostgreSQL behind a TCP proxy of the test's own, stopped before the server starts.
"""

from __future__ import annotations

import json

import pytest

from harness.live_server import Api, LiveServer, fetch, free_port, manage, new_user, wait_for
from harness.producer import RawStream, send_lines
from tests.tcp_proxy import proxied_database


@pytest.fixture
def proxied_db(tmp_path):
    with proxied_database(tmp_path) as proxied:
        yield proxied


def get(url: str) -> tuple[int, str | None, dict]:
    """GET `url`: status, Retry-After and the JSON body, whatever the status."""
    status, headers, body = fetch(url)
    return status, headers.get("retry-after"), json.loads(body)


def test_a_server_started_without_its_database_answers_503_everywhere_until_it_is_back(proxied_db, artifacts):
    database, proxy, proxied_url = proxied_db
    owner = new_user(database.env, "http://unused")  # made while the database is reachable
    token = _bound_token(database)
    proxy.stop()
    stream_port = free_port()
    env = {
        "DATABASE_URL": proxied_url,
        "STREAM_PORT": str(stream_port),
        "DATABASE_POOL_TIMEOUT": "1",
        "DATABASE_CONNECT_TIMEOUT": "1",
    }
    server = LiveServer(env, artifacts, name="database-away-at-start").start()
    try:
        status, _, body = get(f"{server.url}/readyz")
        assert status == 503 and body["checks"]["database"] != "ok"

        status, retry_after, body = get(f"{server.url}/api/plots/1/")
        assert (status, retry_after) == (503, "5") and "database is unavailable" in body["message"]

        for port in (server.port, stream_port):
            answer = send_lines(port, token, [{"x": 1, "y": 2}], timeout=30)
            assert (answer.status, answer.headers.get("retry-after")) == (503, "5")
            assert answer.json["accepted"] == 0 and "database is unavailable" in answer.json["message"]

        proxy.start()
        wait_for(lambda: get(f"{server.url}/readyz")[0] == 200, timeout=60, message="ready once the database is back")
        stream = RawStream(server.port, token).open()
        stream.write({"x": 1, "y": 2})
        assert stream.end().json["accepted"] == 1
        # A request may still find the pool waiting out its reconnection backoff for a moment
        # (docs/operations.md): it is answered 503 meanwhile, and 200 once a connection is made.
        owners_api = Api(server.url, owner.username, owner.key)
        wait_for(lambda: owners_api.get("/api/plots/")[0] == 200, timeout=60, message="the API back")
    finally:
        server.stop()
    assert "Traceback" not in server.log_text()


def _bound_token(database) -> str:
    """A stream token of the newest user bound to a plot of theirs, made with the database
    reachable (manage.py shell)."""
    script = (
        "from django.contrib.auth.models import User;"
        "from core.models import Plot, StreamToken, Trace;"
        "owner = User.objects.order_by('pk').last();"
        "token = StreamToken.objects.create(owner=owner);"
        "plot = Plot.objects.create(owner=owner);"
        "Trace.objects.create(plot=plot, index=0, spec={'x': [], 'y': []}, stream_token=token);"
        "print(token.token)"
    )
    return manage("shell", "-c", script, env=database.env).strip().splitlines()[-1]
