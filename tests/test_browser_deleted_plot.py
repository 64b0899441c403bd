"""A page open on a plot that is deleted says so: its badge reads "deleted", its producers stop
showing "streaming", and it stops reconnecting."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def producer_state(trace: int) -> str:
    return f"document.querySelector(\"#producers li[data-trace='{trace}']\")?.dataset.state"


def test_a_viewer_sees_the_plot_deleted_while_it_streams(streaming_plot, producer, page):
    _, plot, stream = streaming_plot()
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {producer_state(0)} === 'streaming'")
    status, _ = producer.request("DELETE", f"/api/plots/{plot['id']}/")
    assert status == 204
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'deleted'")
    assert page.evaluate("() => document.getElementById('status').textContent") == "deleted"
    # Drawn as an error, like "offline" (and unlike a plain badge).
    colours = page.evaluate("""() => {
        const probe = (cls) => { const s = document.createElement("span"); s.className = cls;
            document.body.appendChild(s); const c = getComputedStyle(s).backgroundColor; s.remove(); return c; };
        return [getComputedStyle(document.getElementById("status")).backgroundColor,
                probe("badge offline"), probe("badge")];
    }""")
    assert colours[0] == colours[1] != colours[2]
    page.wait_for_function(f"() => {producer_state(0)} === 'deleted'")
    assert stream.answer(timeout=30).status == 410
