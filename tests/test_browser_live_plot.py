"""The live plot page in headless Chromium: points streamed over HTTP show up in the trace.

Its picture, test-artifacts/live-plot.png, becomes docs/screenshot-live-plot.png only through
`make screenshots` (harness/screenshots.py): a test run writes nothing into the checkout.
"""

from __future__ import annotations

import math

import pytest

from harness.producer import RawStream

pytestmark = pytest.mark.browser


def drawn_points(page, trace: int = 0) -> int:
    """How many points plotly.js itself holds for a trace (not the viewer's model)."""
    return page.evaluate(f"() => (document.getElementById('plot').data || [])[{trace}]?.x?.length ?? -1")


def test_the_page_shows_twenty_points_streamed_over_http(server, producer, page, artifacts):
    token = producer.make_token("sine")
    plot = producer.make_plot([token], title="Boiler 3: outlet temperature")
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")

    stream = RawStream(server.port, token).open()
    for i in range(20):
        stream.write({"x": i, "y": round(math.sin(i / 3) * 10, 3)})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 20", timeout=10_000)

    held = page.evaluate("() => { const t = document.getElementById('plot').data[0]; return [t.x, t.y]; }")
    assert held == [list(range(20)), [round(math.sin(i / 3) * 10, 3) for i in range(20)]]
    # Drawn, not only held: one marker per point in the SVG.
    assert page.locator(".scatterlayer .trace .points path").count() == 20
    assert page.locator("#producers li").first.get_attribute("data-state") == "streaming"
    assert page.locator("#last-update").inner_text().startswith("last update")
    # The pages' one time format: relative, the exact time on hover.
    assert page.locator("#last-update").inner_text() in (
        "last update just now",
        *(f"last update {n} s ago" for n in range(5, 60)),
    )
    assert page.locator("#last-update").get_attribute("title").endswith(" UTC")
    page.screenshot(path=str(artifacts / "live-plot.png"))
    assert stream.end().status == 200


def test_a_late_joiner_sees_the_window_then_the_new_points(streaming_plot, page):
    _, plot, stream = streaming_plot(maxpoints=15, first={"x": 0, "y": 0})
    for i in range(1, 10):
        stream.write({"x": i, "y": i})

    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 10")
    for i in range(10, 20):
        stream.write({"x": i, "y": i})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.at(-1) === 19")
    assert page.evaluate("() => document.getElementById('plot').data[0].x") == list(range(5, 20))
    assert stream.end().status == 200


def test_appends_are_drawn_with_extend_traces_not_full_redraws(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=100)
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    stream = RawStream(server.port, token).open()
    for i in range(200):
        stream.write({"x": i, "y": i})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.at(-1) === 199")
    stats = page.evaluate("() => window.plotserverViewer.stats")
    assert stats["react"] == 1  # the snapshot
    assert stats["extendTraces"] >= 1
    assert stats["update"] == 0
    assert stats["maxCallsPerFrame"] == 1
    assert page.evaluate("() => document.getElementById('plot').data[0].x") == list(range(100, 200))
    assert stream.end().status == 200


def test_replacing_arrays_and_layout_restyles_in_one_call(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=50)
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    stream = RawStream(server.port, token).open()
    stream.write(
        {"x": [1, 2, 3], "y": [3, 2, 1], "marker": {"color": "red"}, "layout": {"title": {"text": "Replaced"}}}
    )
    page.wait_for_function("() => document.getElementById('plot').layout?.title?.text === 'Replaced'")
    trace = page.evaluate("() => { const t = document.getElementById('plot').data[0]; return [t.x, t.y, t.marker]; }")
    stored = producer.figure(plot["id"])["data"][0]
    assert trace == [[1, 2, 3], [3, 2, 1], stored["marker"]]
    stream.write({"x": 4, "y": 0})
    page.wait_for_function("() => document.getElementById('plot').data[0].x.length === 4")
    assert page.evaluate("() => document.getElementById('plot').data[0].y") == [3, 2, 1, 0]
    assert stream.end().status == 200


def test_the_toolbar_tool_stays_chosen_when_an_edit_redraws_the_whole_figure(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token])
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    page.hover(".nsewdrag")
    page.click(".modebar-btn[data-val='pan']")
    redraws = page.evaluate("() => window.plotserverViewer.stats.react")
    producer.request("PATCH", f"/api/plots/{plot['id']}/", {"title": "Edited"})  # a snapshot follows
    page.wait_for_function(f"() => window.plotserverViewer.stats.react > {redraws}")
    assert page.evaluate("() => document.getElementById('plot')._fullLayout.dragmode") == "pan"


def test_a_stream_of_y_alone_into_a_trace_made_with_empty_x_is_drawn_numbered(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token], title="y only")  # its trace has "x": [], "y": []
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")

    stream = RawStream(server.port, token).open()
    for y in (3, 1, 4, 1, 5):
        stream.write({"y": y})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.y?.length === 5", timeout=10_000)
    # Drawn: one marker per point, numbered 0 to 4 (an empty x once drew none of them).
    assert page.locator(".scatterlayer .trace .points path").count() == 5
    assert page.evaluate("() => document.getElementById('plot').data[0].x") is None
    assert stream.end().status == 200
    figure = producer.figure(plot["id"])["data"][0]
    assert "x" not in figure and figure["y"] == [3, 1, 4, 1, 5]
