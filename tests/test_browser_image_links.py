"""The plot page's "Download PNG / SVG" links: the plot's image addresses, with the share key of
a secret plot, downloading the plot as it stands, drawn by the server."""

from __future__ import annotations

import pytest

from harness.live_server import wait_for
from harness.producer import send_lines

pytestmark = pytest.mark.browser


def test_the_page_downloads_the_plot_as_png_and_svg_by_its_image_addresses(page, server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=5, sharing="secret", title="Pictured")
    assert send_lines(server.port, token, [{"x": i, "y": i * 10} for i in range(8)]).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] >= 8)
    page.goto(plot["web_url"])

    base = f"/~{producer.username}/{plot['id']}"
    key = f"?share_key={plot['share_key']}"
    assert page.get_attribute("#download-png", "href") == f"{base}.png{key}"
    assert page.get_attribute("#download-svg", "href") == f"{base}.svg{key}"

    with page.expect_download(timeout=120_000) as info:
        page.click("#download-png")
    assert info.value.suggested_filename == f"pictured-{plot['id']}.png"
    assert info.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    with page.expect_download(timeout=120_000) as info:
        page.click("#download-svg")
    assert info.value.suggested_filename == f"pictured-{plot['id']}.svg"
    assert info.value.path().read_bytes().startswith(b"<svg")
    assert page.request.get(server.url + f"{base}.png").status == 404, "without the key, nothing"
