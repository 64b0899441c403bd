"""A server without the Chromium it is told to use answers image requests 503, saying what to
install, and everything else as usual."""

from __future__ import annotations

from harness.live_server import new_user
from tests.image_requests import SMALL, post_image


def test_images_are_refused_with_what_to_install(integration_db, start_server):
    server = start_server("images-no-chromium", IMAGE_CHROMIUM="no-such-chromium")
    api = new_user(integration_db.env, server.url)
    status, headers, body = post_image(api, SMALL)
    assert status == 503 and headers["retry-after"] == "2"
    assert b"'no-such-chromium' (IMAGE_CHROMIUM) is not installed" in body and b"apt-get install chromium" in body
    token = api.make_token()
    plot = api.make_plot([token])
    assert api.figure(plot["id"])["data"][0]["x"] == []
