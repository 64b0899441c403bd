"""A viewer that reconnects with its last sequence numbers gets exactly what it missed, or a
fresh snapshot marked as such: never a gap, never a duplicate."""

from __future__ import annotations

import json
from urllib.parse import quote

from websockets.sync.client import connect

from harness.producer import send_lines


def viewer_url(server, plot_id: int, since: dict | None = None) -> str:
    url = f"ws://127.0.0.1:{server.port}/ws/plots/{plot_id}/"
    return url if since is None else f"{url}?since={quote(json.dumps(since))}"


def first_message(server, plot_id: int, since: dict | None = None) -> dict:
    with connect(viewer_url(server, plot_id, since)) as viewer:
        return json.loads(viewer.recv(timeout=5))


def send_points(server, token: str, xs) -> None:
    assert send_lines(server.port, token, [{"x": x, "y": 0} for x in xs]).json["accepted"] == len(list(xs))


def position(snapshot: dict) -> dict:
    return {"revision": snapshot["revision"], "streams": {k: v["seq"] for k, v in snapshot["streams"].items()}}


def test_a_returning_viewer_gets_exactly_the_updates_it_missed_then_live_ones(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    send_points(server, token, [0])
    snapshot = first_message(server, plot["id"])
    assert snapshot["figure"]["data"][0]["x"] == [0]
    send_points(server, token, [1, 2, 3])

    with connect(viewer_url(server, plot["id"], position(snapshot))) as viewer:
        replay = json.loads(viewer.recv(timeout=5))
        assert replay["type"] == "updates" and replay["replay"] is True
        assert [u["seq"] for u in replay["updates"]] == [2, 3, 4]
        assert [u["traces"]["0"]["extend"]["x"] for u in replay["updates"]] == [[1], [2], [3]]
        send_points(server, token, [4])
        live = json.loads(viewer.recv(timeout=5))
        assert [u["seq"] for u in live["updates"]] == [5]


def test_a_viewer_that_missed_nothing_gets_an_empty_catch_up(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    send_points(server, token, [0, 1])
    snapshot = first_message(server, plot["id"])
    assert first_message(server, plot["id"], position(snapshot)) == {"type": "updates", "replay": True, "updates": []}


def test_a_viewer_that_missed_more_than_the_window_gets_a_resync_snapshot(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=3)
    snapshot = first_message(server, plot["id"])
    send_points(server, token, range(150))
    message = first_message(server, plot["id"], position(snapshot))
    assert message["type"] == "snapshot" and message["resync"] is True
    assert message["figure"]["data"][0]["x"] == [147, 148, 149]
    assert message["streams"][str(next(iter(snapshot["streams"])))]["seq"] == 150


def test_a_plot_edited_while_away_sends_a_resync_snapshot(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    snapshot = first_message(server, plot["id"])
    producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"title": "renamed"})
    message = first_message(server, plot["id"], position(snapshot))
    assert message["type"] == "snapshot" and message["resync"] is True
    assert message["plot"]["title"] == "renamed"
    assert message["revision"] == snapshot["revision"] + 1


def test_a_position_that_makes_no_sense_sends_a_resync_snapshot(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    for since in ({"revision": 0, "streams": {"999999": 3}}, {"revision": 0}, {"streams": "x"}):
        message = first_message(server, plot["id"], since)
        assert message["type"] == "snapshot" and message["resync"] is True
    with connect(viewer_url(server, plot["id"]) + "?since=not-json") as viewer:
        assert json.loads(viewer.recv(timeout=5))["type"] == "snapshot"


def test_a_viewer_who_may_not_see_the_plot_gets_an_error_and_is_closed(server, producer):
    plot = producer.make_plot([], sharing="private")
    with connect(viewer_url(server, plot["id"], {"revision": 0, "streams": {}})) as viewer:
        assert json.loads(viewer.recv(timeout=5))["status"] == 404


def test_a_producer_going_away_tells_presence_viewers_its_last_sequence_number(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    with connect(viewer_url(server, plot["id"]) + "?presence=1") as viewer:
        assert json.loads(viewer.recv(timeout=5))["type"] == "snapshot"
        send_points(server, token, [0, 1, 2])
        messages = []
        while not any(m["type"] == "stream" and not m["connected"] for m in messages):
            messages.append(json.loads(viewer.recv(timeout=5)))
        idle = messages[-1]
        assert idle["seq"] == 3
        assert max(u["seq"] for m in messages if m["type"] == "updates" for u in m["updates"]) == 3
