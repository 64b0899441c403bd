"""A stream's points are visible while its request is still open: REST figure and viewers."""

from __future__ import annotations

import json

from websockets.sync.client import connect

from harness.live_server import wait_for
from harness.producer import RawStream, send_lines


def ws_url(server, plot_id: int) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/plots/{plot_id}/"


def test_points_reach_the_figure_while_the_request_is_open(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    for i in range(3):
        stream.write({"x": i, "y": i * i})
        wait_for(lambda i=i: producer.figure(plot["id"])["data"][0]["x"] == list(range(i + 1)))
    assert producer.figure(plot["id"])["data"][0]["y"] == [0, 1, 4]
    assert not stream.has_answered()
    answer = stream.end()
    assert answer.status == 200
    assert answer.json["accepted"] == 3


def test_a_viewer_gets_the_window_then_each_update_as_it_is_written(server, streaming_plot):
    _, plot, stream = streaming_plot(maxpoints=50, first={"x": 1, "y": 10})

    with connect(ws_url(server, plot["id"])) as viewer:
        snapshot = json.loads(viewer.recv(timeout=5))
        assert snapshot["type"] == "snapshot"
        assert snapshot["figure"]["data"][0]["x"] == [1]
        assert "stream" not in snapshot["figure"]["data"][0]
        for x in (2, 3):
            stream.write({"x": x, "y": x * 10})
            message = json.loads(viewer.recv(timeout=5))
            assert message["type"] == "updates"
            [update] = message["updates"]
            assert update["traces"]["0"] == {"extend": {"x": [x], "y": [x * 10]}}
    assert stream.end().status == 200


def test_a_finite_body_with_content_length_is_a_batch(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=3)
    answer = send_lines(server.port, token, [{"x": i, "y": -i} for i in range(5)])
    assert answer.status == 200
    assert answer.json == {"status": 200, "message": "stream ended cleanly", "accepted": 5, "rejected": 0}
    assert producer.figure(plot["id"])["data"][0] == {
        "type": "scatter",
        "mode": "lines+markers",
        "x": [2, 3, 4],
        "y": [-2, -3, -4],
    }
