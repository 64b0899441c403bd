"""Against a real server: a stream's points reach a viewer's socket in sequence order, and the
figure after a restart holds every one of them."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from harness.live_server import new_user
from harness.producer import RawStream


def test_points_reach_a_viewer_and_the_figure_after_a_restart(start_server, integration_db):
    server = start_server(name="to-viewer")
    user = new_user(integration_db.env, server.url)
    token = user.make_token()
    plot = user.make_plot([token], maxpoints=10000)
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/") as viewer:
        assert json.loads(viewer.recv(timeout=10))["type"] == "snapshot"
        stream = RawStream(server.port, token).open()
        for i in range(200):
            stream.write({"x": i, "y": i})
        seen = []
        while len(seen) < 200:
            message = json.loads(viewer.recv(timeout=10))
            assert message["type"] == "updates"
            seen.extend(message["updates"])
        assert [u["seq"] for u in seen] == list(range(1, 201))
        assert [u["traces"]["0"]["extend"]["x"][0] for u in seen] == list(range(200))
    assert stream.end().json["accepted"] == 200
    server.stop()

    again = start_server(name="to-viewer-restarted")
    user.base_url = again.url
    assert user.figure(plot["id"])["data"][0]["x"] == list(range(200))
    assert user.stream_status(token)["last_seq"] == 200
