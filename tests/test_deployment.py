"""The deployment of deploy/, brought up for real: Debian's nginx with the stream module in front
of two uvicorn processes sharing the database and Redis.

Pages, REST and viewer sockets go through nginx's HTTP proxy; streams go through both doors
(the HTTP proxy to the main port, the TCP proxy to the stream listener). Then one process stops
while producers and viewers carry on through the other. Skipped only where nginx is missing
outside CI (.ci/run installs it).
"""

from __future__ import annotations

import json
import signal
import urllib.request

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from harness.live_server import LiveServer, new_user, wait_for
from tests.client_module import plotserver_client as client
from tests.deployment import deployed


def viewer_socket(port: int, plot_id: int):
    """A viewer socket through the proxy, or None while the proxy has no process to offer (502)."""
    try:
        return connect(f"ws://127.0.0.1:{port}/ws/plots/{plot_id}/", open_timeout=10)
    except (InvalidStatus, OSError):
        return None


def next_updates(viewer, streams: set[int]) -> set[int]:
    """Read viewer messages until updates of every stream in `streams` came; return them."""
    seen: set[int] = set()
    while not streams <= seen:
        message = json.loads(viewer.recv(timeout=20))
        if message["type"] == "updates":
            seen |= {update["stream"] for update in message["updates"]}
    return seen


def test_nginx_in_front_of_two_processes_carries_everything_and_survives_one_stopping(
    integration_db, artifacts, tmp_path
):
    with deployed(integration_db.env, artifacts, tmp_path, processes=2, name="deployed") as deployment:
        workers, env, http_port = deployment.workers, deployment.env, deployment.http_port
        site, proxy_stream_port = deployment.site, deployment.proxy_stream_port

        # Create, through the proxy.
        user = new_user(integration_db.env, site)
        main_door, listener_door = user.make_token("main port"), user.make_token("stream listener")
        plot = user.make_plot([main_door, listener_door], maxpoints=10000)
        assert plot["web_url"].startswith(site), "the proxy keeps the Host the visitor used"
        with urllib.request.urlopen(plot["web_url"], timeout=10) as page:
            assert page.status == 200

        # Stream through both doors; watch through the proxy.
        first = client.Stream(site, main_door, backoff=0.2, max_backoff=1)
        second = client.Stream(f"http://127.0.0.1:{proxy_stream_port}", listener_door, backoff=0.2, max_backoff=1)
        with connect(f"ws://127.0.0.1:{http_port}/ws/plots/{plot['id']}/") as viewer:
            snapshot = json.loads(viewer.recv(timeout=20))
            assert snapshot["type"] == "snapshot"
            streams = {trace["stream"] for trace in snapshot["traces"]}
            for i in range(200):
                first.write({"x": i, "y": i})
                second.write({"x": i, "y": -i})
            next_updates(viewer, streams)

        # One process stops; producers reconnect through the proxy to the other, viewers too.
        # Then it comes back and the other stops: whichever process a stream was on, it moved.
        written = 200
        for stopping in (0, 1):
            workers[stopping].stop(signal.SIGTERM)
            # nginx may still count the other process as failed (fail_timeout): a page retries.
            with wait_for(lambda: viewer_socket(http_port, plot["id"]), timeout=30) as viewer:
                assert json.loads(viewer.recv(timeout=20))["type"] == "snapshot"
                for i in range(written, written + 100):
                    first.write({"x": i, "y": i})
                    second.write({"x": i, "y": -i})
                written += 100
                next_updates(viewer, streams)
            if stopping == 0:
                again = LiveServer(env, artifacts, name="deployed-1-again")
                again.port = workers[0].port
                workers[0] = again.start()
        assert first.reconnects >= 1 and second.reconnects >= 1
        assert first.close()["accepted"] == written
        assert second.close()["accepted"] == written
        figure = user.figure(plot["id"])
        assert figure["data"][0]["x"] == list(range(written))
        assert figure["data"][1]["x"] == list(range(written))
