"""The render pool is bounded: with every page drawing and the line full, an image request is
answered 503 with Retry-After at once; a render past IMAGE_RENDER_TIMEOUT is given up (503) and
the pool goes on drawing. Against a real server and Chromium."""

from __future__ import annotations

import threading

from harness.live_server import new_user, wait_for
from tests.image_requests import HEAVY, SMALL, post_image, renders_held


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
