"""Image requests as clients make them, for the image tests: POST /v2/images as chart_studio
sends it, the server's gauge of renders in its pool, and figures small and heavy."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

from harness.live_server import Api

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
