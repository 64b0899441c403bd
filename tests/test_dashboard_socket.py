"""Against a real server: one dashboard socket carries every panel's plot live, each message
tagged with its plot, through the dashboard's sharing (docs/websocket.md, "Dashboards")."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness.live_server import Api, new_user
from harness.producer import RawStream


@pytest.fixture
def owner(integration_db, server) -> Api:
    return new_user(integration_db.env, server.url)


def socket_url(server, dashboard: dict, **query: str) -> str:
    params = urlencode(query)
    return f"ws://127.0.0.1:{server.port}/ws/dashboards/{dashboard['id']}/" + (f"?{params}" if params else "")


def read_until(socket, done, limit: int = 500) -> list[dict]:
    """Messages until `done(messages)` holds (each read waits at most 10 s)."""
    messages: list[dict] = []
    while not done(messages):
        assert len(messages) < limit, messages
        messages.append(json.loads(socket.recv(timeout=10)))
    return messages


def points_of(messages: list[dict], plot_id: int) -> list[int]:
    return [
        x
        for m in messages
        if m.get("plot_id") == plot_id and m["type"] == "updates"
        for u in m["updates"]
        for x in u["traces"]["0"]["extend"]["x"]
    ]


def test_one_socket_carries_several_plots_live_each_message_tagged_with_its_plot(owner, server):
    tokens = [owner.make_token() for _ in range(3)]
    plots = [owner.make_plot([t], sharing="private") for t in tokens]
    ids = [p["id"] for p in plots]
    dashboard = owner.ok(
        "POST", "/api/dashboards/", {"sharing": "secret", "panels": [{"plot": i} for i in ids] + [{"plot": ids[0]}]}
    )
    with connect(socket_url(server, dashboard, share_key=dashboard["share_key"])) as socket:
        snapshots = read_until(socket, lambda ms: len(ms) == 3)
        assert sorted(m["plot_id"] for m in snapshots) == sorted(ids)  # a plot shown twice comes once
        assert all(m["type"] == "snapshot" and m["plot"]["id"] == m["plot_id"] for m in snapshots)
        streams = [RawStream(server.port, t).open() for t in tokens]
        for i in range(20):
            for n, stream in enumerate(streams):
                stream.write({"x": i + 100 * n, "y": i})
        messages = read_until(socket, lambda ms: all(len(points_of(ms, p)) == 20 for p in ids))
        for n, plot_id in enumerate(ids):
            assert points_of(messages, plot_id) == [i + 100 * n for i in range(20)]
        for stream in streams:
            assert stream.end().json["accepted"] == 20


def test_a_returning_page_says_where_each_plot_stands_and_gets_what_it_missed(owner, server):
    tokens = [owner.make_token() for _ in range(2)]
    ids = [owner.make_plot([t])["id"] for t in tokens]
    dashboard = owner.ok("POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": i} for i in ids]})
    with connect(socket_url(server, dashboard)) as socket:
        snapshots = {m["plot_id"]: m for m in read_until(socket, lambda ms: len(ms) == 2)}
    for token in tokens:
        stream = RawStream(server.port, token).open()
        for i in range(5):
            stream.write({"x": i, "y": i})
        assert stream.end().json["accepted"] == 5
    since = {
        str(plot_id): {"revision": s["revision"], "streams": {k: v["seq"] for k, v in s["streams"].items()}}
        for plot_id, s in snapshots.items()
    }
    with connect(socket_url(server, dashboard, since=json.dumps(since))) as socket:
        messages = read_until(socket, lambda ms: all(len(points_of(ms, p)) == 5 for p in ids))
        assert {m["type"] for m in messages} <= {"updates", "stream"}
        assert all(m.get("replay") for m in messages if m["type"] == "updates")


def test_without_the_key_the_socket_says_so_and_closes_with_4404(owner, server):
    dashboard = owner.ok("POST", "/api/dashboards/", {"sharing": "secret"})
    with connect(socket_url(server, dashboard, share_key="wrong")) as socket:
        message = json.loads(socket.recv(timeout=10))
        assert message["type"] == "error" and message["status"] == 404 and "plot_id" not in message
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd.code == 4404


def test_a_panel_removed_closes_alone_and_a_dashboard_made_private_closes_the_socket(owner, server):
    ids = [owner.make_plot([owner.make_token()], sharing="private")["id"] for _ in range(2)]
    dashboard = owner.ok("POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": i} for i in ids]})
    path = f"/api/dashboards/{dashboard['id']}/"
    with connect(socket_url(server, dashboard)) as socket:
        read_until(socket, lambda ms: len(ms) == 2)
        owner.ok("PATCH", path, {"panels": [{"plot": ids[0]}]})
        message = read_until(socket, lambda ms: any(m["type"] == "error" for m in ms))[-1]
        assert message["plot_id"] == ids[1] and message["status"] == 404
        owner.ok("PATCH", path, {"sharing": "private"})
        closing = read_until(socket, lambda ms: any("plot_id" not in m for m in ms))
        assert closing[-1]["type"] == "error"
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=10)
    assert closed.value.rcvd.code == 4404


def test_another_users_plot_made_private_closes_its_panel_alone_on_an_open_socket(owner, integration_db, server):
    other = new_user(integration_db.env, server.url)
    token = owner.make_token()
    mine = owner.make_plot([token], sharing="private")["id"]
    theirs = other.make_plot([other.make_token()], sharing="public")["id"]
    dashboard = owner.ok(
        "POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": mine}, {"plot": theirs}]}
    )
    with connect(socket_url(server, dashboard)) as socket:
        assert sorted(m["plot_id"] for m in read_until(socket, lambda ms: len(ms) == 2)) == sorted([mine, theirs])
        # The owner's own edit, through the plot API (Plot.changed), not a change to the dashboard.
        other.ok("PATCH", f"/api/plots/{theirs}/", {"sharing": "private"})
        error = read_until(socket, lambda ms: any(m["type"] == "error" for m in ms))[-1]
        assert (error["plot_id"], error["status"]) == (theirs, 404)
        stream = RawStream(server.port, token).open()
        stream.write({"x": 1, "y": 1})
        assert points_of(read_until(socket, lambda ms: bool(points_of(ms, mine))), mine) == [1]
        assert stream.end().json["accepted"] == 1
