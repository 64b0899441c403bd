"""In history view the way back to the tail is a button that says what it does ("Back to live")
and looks like the page's other buttons, not like the status badge beside the title."""

from __future__ import annotations

import pytest

from harness.live_server import wait_for
from harness.producer import send_lines

pytestmark = pytest.mark.browser

PLOT = "document.getElementById('plot')"
STYLE = "el => { const s = getComputedStyle(el); return [s.borderRadius, s.backgroundColor, s.color]; }"


def test_history_view_offers_a_back_to_live_button(page, server, producer):
    token = producer.make_token("history")
    plot = producer.make_plot([token], maxpoints=50, title="Back and forth", retention="forever")
    assert send_lines(server.port, token, [{"x": i, "y": i % 7} for i in range(300)]).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] >= 300)
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {PLOT}.data?.[0]?.x?.at(-1) === 299")
    back = page.locator("#history-live")
    assert back.is_hidden()

    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': [0, 299]}})")
    back.wait_for(state="visible")
    assert back.inner_text().strip().endswith("Back to live")
    assert back.evaluate("el => el.tagName") == "BUTTON"
    looks = back.evaluate(STYLE)
    assert looks == page.locator("#replay-play").evaluate(STYLE)  # a button among buttons
    assert looks != page.locator("#status").evaluate(STYLE)  # not a badge

    back.click()
    page.wait_for_function(f"() => {PLOT}.dataset.view === 'live'")
    assert back.is_hidden()
