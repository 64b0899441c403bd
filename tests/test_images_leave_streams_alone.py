"""Drawing an image holds up nothing else: while a heavy image is being drawn, a stream's points
are accepted, stored and shown, and pages answer. Against a real server and Chromium."""

from __future__ import annotations

import threading

import pytest

from harness.live_server import new_user, wait_for
from harness.producer import send_lines
from tests.image_requests import HEAVY, post_image, renders_held


@pytest.mark.long
def test_a_stream_is_served_while_an_image_is_drawn(integration_db, start_server):
    server = start_server("images-streams", IMAGE_MAX_POINTS="300000", IMAGE_RENDER_TIMEOUT="120")
    api = new_user(integration_db.env, server.url)
    token = api.make_token()
    plot = api.make_plot([token])

    heavy: list[tuple[int, dict, bytes]] = []
    drawing = threading.Thread(target=lambda: heavy.append(post_image(api, HEAVY)))
    drawing.start()
    wait_for(lambda: renders_held(api) == 1, timeout=60, message="the heavy render never took its place")

    answer = send_lines(server.port, token, [{"x": i, "y": i} for i in range(10)])
    assert answer.status == 200 and answer.json["accepted"] == 10
    wait_for(lambda: api.figure(plot["id"])["data"][0]["x"] == list(range(10)))
    assert api.ok("GET", f"/api/plots/{plot['id']}/")["id"] == plot["id"]
    assert renders_held(api) == 1, "the image was still being drawn meanwhile"

    drawing.join(timeout=180)
    assert heavy and heavy[0][0] == 200
