"""A body that is not JSON (a form, as `curl -d` sends by default) is refused with 415 and told to
send JSON with `Content-Type: application/json`."""

from __future__ import annotations

import base64
import json

from harness.live_server import fetch


def test_a_form_encoded_post_is_told_to_send_json(server, producer):
    basic = base64.b64encode(f"{producer.username}:{producer.key}".encode()).decode()
    status, _, body = fetch(
        f"{server.url}/api/plots/",
        data=b"title=Reactor",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 415
    assert json.loads(body)["message"] == (
        "The body is application/x-www-form-urlencoded; send JSON, with `Content-Type: application/json`."
    )
