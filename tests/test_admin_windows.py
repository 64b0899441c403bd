"""The admin shows a plot's windows as a count and a short preview, never the whole array,
and its token list fits a 1,400 px screen however long a token's last error is."""

from __future__ import annotations

import pytest

from harness.live_server import wait_for
from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_page(admin_page):
    """The admin on a 1,400 px screen."""
    admin_page.set_viewport_size({"width": 1400, "height": 900})
    return admin_page


def test_a_plot_page_shows_each_window_as_a_count_and_a_preview(admin_page, server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=5000, title="Long window")
    assert send_lines(server.port, token, [{"x": list(range(4000)), "y": list(range(4000))}]).status == 200
    admin_page.goto(f"{server.url}/admin/plots/plot/{plot['id']}/change/")
    preview = admin_page.locator(".field-spec_preview .readonly").first.inner_text()
    assert "x: 4000 values [0, 1, 2 … 3997, 3998, 3999]" in preview
    assert "1234" not in preview
    assert admin_page.evaluate("() => document.documentElement.scrollHeight") < 2500


def test_the_token_list_fits_1400_px_with_a_long_last_error(admin_page, server, producer):
    token = producer.make_token("boiler room feed, north building, rig 7")
    producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    stream.write(b'{"x": 1, "y": 1, "' + b"quite_a_long_attribute_name_" * 10 + b'": [1, 2]}\n{"x": 2, "y": 2}\n')
    revoked = producer.make_token("an old feed that was revoked")
    producer.revoke(revoked)
    try:
        wait_for(lambda: producer.stream_status(token)["rejected"] == 1, message="the error stored")
        admin_page.goto(f"{server.url}/admin/plots/streamtoken/?q={producer.username}")
        assert "quite_a_long" in admin_page.locator("#result_list").inner_text()
        # The admin scrolls a table that is too wide inside its box: every column must show.
        box = "document.querySelector('#changelist .results')"
        overflow = admin_page.evaluate(f"() => {box}.scrollWidth - {box}.clientWidth")
        assert overflow <= 0, f"the token list is {overflow} px wider than its box"
    finally:
        stream.close()
