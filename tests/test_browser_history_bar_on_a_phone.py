"""On a phone the history bar's buttons keep the page's margin and their shape: Stop, the last of
them, does not touch the screen's edge, no button is squeezed into two lines, and nothing of the
bar sticks out of the page."""

from __future__ import annotations

import pytest

from harness.producer import send_lines

pytestmark = pytest.mark.browser

PLOT = "document.getElementById('plot')"


@pytest.mark.parametrize("width", [320, 360, 390])
def test_the_stop_button_keeps_the_pages_margin_on_a_phone(page, server, producer, artifacts, width):
    PHONE = {"width": width, "height": 800}
    token = producer.make_token()
    plot = producer.make_plot([token], title="On a phone", maxpoints=20, retention="7d")
    assert send_lines(server.port, token, [{"x": i, "y": i % 5} for i in range(100)]).status == 200
    page.set_viewport_size(PHONE)
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {PLOT}.data?.[0]?.x?.at(-1) === 99")
    # History view: "Back to live" and a note join the bar.
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': [0, 99]}})")
    page.locator("#history-live").wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('history-note').textContent.includes('points shown')")
    stop = page.locator("#replay-stop").bounding_box()
    main = page.locator("main").evaluate("el => parseFloat(getComputedStyle(el).paddingRight)")
    assert main >= 8
    assert stop["x"] + stop["width"] <= PHONE["width"] - main + 0.5, stop
    for selector in ("#replay-play", "#replay-speed", "#history-bar", "#history-live", "#history-note"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= main - 0.5 and box["x"] + box["width"] <= PHONE["width"] - main + 0.5, (selector, box)
    # Each button whole, on one line, as high as "Back to live": none squeezed into two lines.
    one_line = page.locator("#history-live").bounding_box()["height"]
    for selector in ("#replay-play", "#replay-stop"):
        assert page.locator(selector).bounding_box()["height"] <= one_line + 0.5, selector
    page.screenshot(path=str(artifacts / f"history-bar-phone-{width}.png"))
