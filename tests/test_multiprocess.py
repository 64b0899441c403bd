"""Two uvicorn processes sharing the database and Redis behave as one server."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack

import pytest
from websockets.sync.client import connect

from harness.live_server import new_user, wait_for
from harness.producer import RawStream, open_streaming_plot

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def pair(start_server):
    """Two processes, A and B, on one database and one Redis. A takeover waits up to 10 s (not 1 s)
    for the older holder to hand over, a margin for a loaded machine: see `server` in conftest."""
    env = {"REDIS_URL": REDIS_URL, "STREAM_TAKEOVER_TIMEOUT": "10"}
    return start_server(name="process-a", **env), start_server(name="process-b", **env)


@pytest.fixture
def user(pair, integration_db):
    return new_user(integration_db.env, pair[0].url)


def test_a_viewer_on_one_process_sees_a_producer_on_the_other(pair, user):
    a, b = pair
    token = user.make_token()
    plot = user.make_plot([token])
    with connect(f"ws://127.0.0.1:{b.port}/ws/plots/{plot['id']}/") as viewer:
        assert json.loads(viewer.recv(timeout=5))["type"] == "snapshot"
        stream = RawStream(a.port, token).open()
        stream.write({"x": 1, "y": 1})
        update = json.loads(viewer.recv(timeout=5))
        assert update["updates"][0]["traces"]["0"] == {"extend": {"x": [1], "y": [1]}}
        stream.end()


def test_the_newest_connection_wins_across_processes(pair, user):
    a, b = pair
    token, plot, oldest = open_streaming_plot(user, a.port, first={"x": 1, "y": 1})
    newest = RawStream(b.port, token).open()
    newest.write({"x": 2, "y": 2})
    assert oldest.answer(timeout=10).status == 409
    newest.write({"x": 3, "y": 3})
    assert newest.end().status == 200
    assert user.figure(plot["id"])["data"][0]["x"] == [1, 2, 3]
    # Numbering goes on without a jump: A handed the stream over through Redis (a holder that
    # does not answer in time is taken for crashed, and numbering skips past it).
    assert user.stream_status(token)["last_seq"] == 3


def test_revoking_on_one_process_ends_the_stream_on_the_other(pair, user):
    a, b = pair
    token, _, stream = open_streaming_plot(user, a.port, first={"x": 1})
    user.base_url = b.url
    user.revoke(token)
    assert stream.answer(timeout=30).status == 410


def test_workers_2_serves_streams_and_viewers(start_server, integration_db):
    server = start_server(name="workers", extra_args=("--workers", "2"), REDIS_URL=REDIS_URL)
    user = new_user(integration_db.env, server.url)
    token = user.make_token()
    plot = user.make_plot([token])
    with ExitStack() as stack:
        viewers = [
            stack.enter_context(connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/")) for _ in range(4)
        ]
        for viewer in viewers:
            assert json.loads(viewer.recv(timeout=5))["type"] == "snapshot"
        stream = RawStream(server.port, token).open()
        stream.write({"x": 1, "y": 1})
        for viewer in viewers:
            assert json.loads(viewer.recv(timeout=5))["updates"][0]["seq"] == 1
    assert stream.end().status == 200


def test_a_run_started_through_one_process_lands_in_the_stream_the_other_holds(pair, user):
    a, b = pair
    token, plot, stream = open_streaming_plot(user, a.port, first={"x": 1, "y": 1})
    stream.write({"x": 2, "y": 2})
    wait_for(lambda: user.figure(plot["id"])["data"][0]["x"] == [1, 2], message="line 2 applied")
    user.base_url = b.url
    run = user.ok("POST", f"/api/streams/{user.stream_id(token)}/runs/", {"name": "from b"})
    assert (run["number"], run["name"], run["first_seq"]) == (2, "from b", 3)
    stream.write({"x": 3, "y": 3})
    assert stream.end().status == 200  # the producer on A streamed on through it
    assert user.figure(plot["id"])["data"][0]["x"] == [3]
    runs = user.ok("GET", f"/api/streams/{user.stream_id(token)}/runs/")["runs"]
    assert [(r["number"], r["first_seq"], r["last_seq"]) for r in runs] == [(1, 1, 2), (2, 3, None)]
