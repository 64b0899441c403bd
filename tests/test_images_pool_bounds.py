"""The render pool is bounded: with every page drawing and the line full, an image request is
answered 503 with Retry-After at once; a render past IMAGE_RENDER_TIMEOUT is given up (503) and
the pool goes on drawing. Against a real server and Chromium."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request

from harness.live_server import Api, new_user, wait_for

SMALL = {"figure": {"data": [{"y": [1, 3, 2]}]}, "format": "png", "width": 200, "height": 100}
# Sixty thousand markers: seconds of drawing for Chromium, whatever the machine.
HEAVY = {
    "figure": {"data": [{"type": "scatter", "mode": "markers", "y": [i % 97 for i in range(60_000)]}]},
    "format": "png",
}


def post_image(api: Api, body: dict, timeout: float = 180) -> tuple[int, dict, bytes]:
    """POST /v2/images as chart_studio does; status, headers, body bytes."""
    request = urllib.request.Request(f"{api.base_url}/v2/images", data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", "Basic " + base64.b64encode(f"{api.username}:{api.key}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def renders_held(api: Api) -> float:
    """The server's gauge of image requests holding a place in its pool (/metrics, from 127.0.0.1)."""
    with urllib.request.urlopen(f"{api.base_url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("plotserver_image_renders "):
                return float(line.split()[1])
    return 0.0


def test_a_full_pool_answers_503_with_retry_after_and_draws_again_once_free(integration_db, start_server):
    server = start_server(
        "images-full",
        IMAGE_RENDER_CONCURRENCY="1",
        IMAGE_RENDER_QUEUE="0",
        IMAGE_MAX_POINTS="300000",
        IMAGE_RENDER_TIMEOUT="120",
    )
    api = new_user(integration_db.env, server.url)
    heavy: list[tuple[int, dict, bytes]] = []
    drawing = threading.Thread(target=lambda: heavy.append(post_image(api, HEAVY)))
    drawing.start()
    wait_for(lambda: renders_held(api) == 1, timeout=60, message="the heavy render never took its place")

    status, headers, body = post_image(api, SMALL)
    assert status == 503
    assert headers["retry-after"] == "2"
    assert b"IMAGE_RENDER_CONCURRENCY" in body

    drawing.join(timeout=180)
    assert heavy and heavy[0][0] == 200 and heavy[0][2][:8] == b"\x89PNG\r\n\x1a\n"
    status, _, image = post_image(api, SMALL)
    assert status == 200 and image[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_render_past_its_timeout_is_a_503_and_the_pool_goes_on(integration_db, start_server):
    server = start_server("images-timeout", IMAGE_RENDER_TIMEOUT="0.3", IMAGE_MAX_POINTS="300000")
    api = new_user(integration_db.env, server.url)
    status, headers, body = post_image(api, HEAVY)
    assert status == 503 and b"IMAGE_RENDER_TIMEOUT" in body and headers["retry-after"] == "2"

    # The page that was still drawing is replaced; small images are drawn again (a loaded machine
    # may need a few tries within the 0.3-second timeout while the fresh page loads plotly.js).
    answers: list[int] = []
    wait_for(lambda: answers.append(post_image(api, SMALL)[0]) or answers[-1] == 200, timeout=120, interval=0.5)
    assert set(answers) <= {200, 503}
