"""The live page zooms into a plot's history (docs/history.md, "On the page"), in Chromium
against the live server: zooming out past the window reads the range at screen resolution,
zooming in reads finer, "Live" returns to the tail with every update that arrived meanwhile,
and a plot that keeps only its window behaves as before."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from harness.live_server import wait_for
from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser

BACKFILL = 20_000
WINDOW = 200
PLOT = "document.getElementById('plot')"


def history_plot(server, producer, retention: str = "forever"):
    """A plot of one trace, window 200, with BACKFILL points x = 0, 1, … already stored."""
    token = producer.make_token("history")
    plot = producer.make_plot([token], maxpoints=WINDOW, title="history")
    producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": retention})
    lines = [{"x": i, "y": round(math.sin(i / 500), 4)} for i in range(BACKFILL)]
    assert send_lines(server.port, token, lines, timeout=60).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] >= BACKFILL, message="the backfill stored")
    return token, plot


def open_live(page, plot) -> list[str]:
    """Open the plot's page once it shows the newest window; return the range reads it makes."""
    reads: list[str] = []
    page.on("request", lambda r: "/points/" in r.url and reads.append(r.url))
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {PLOT}.data?.[0]?.x?.at(-1) === {BACKFILL - 1}")
    return reads


def zoom(page, start, end) -> None:
    """Zoom as the mouse does (a plotly_relayout of the x range), and wait for it to be drawn."""
    drawn = page.evaluate("() => window.plotserverHistory.stats.drawn")
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': [{start}, {end}]}})")
    page.wait_for_function(f"() => window.plotserverHistory.stats.drawn > {drawn}")


def drawn_x(page) -> list:
    return page.evaluate(f"() => {PLOT}.data[0].x")


def test_zooming_out_reads_older_points_at_screen_resolution_and_live_returns_to_the_tail(
    server, producer, page, artifacts
):
    token, plot = history_plot(server, producer)
    reads = open_live(page, plot)
    assert reads == []  # live view reads nothing
    assert drawn_x(page) == list(range(BACKFILL - WINDOW, BACKFILL))
    assert page.locator("#history-live").is_hidden()

    zoom(page, 0, BACKFILL)
    query = parse_qs(urlparse(reads[-1]).query)
    width = page.evaluate(f"() => {PLOT}._fullLayout._size.w")
    assert query["from"] == ["0"] and query["to"] == [str(BACKFILL)] and query["method"] == ["lttb"]
    assert abs(int(query["max_points"][0]) - width) <= 1
    shown = drawn_x(page)
    assert len(shown) <= width + 1
    assert min(shown) < BACKFILL - WINDOW  # older than the window
    assert shown[0] == 0 and shown[-1] == BACKFILL - 1
    assert page.locator("#history-live").is_visible()
    assert page.evaluate(f"() => {PLOT}.dataset.view") == "history"
    page.screenshot(path=str(artifacts / "history-zoom.png"))

    # Zooming in reads finer: every point of a range narrower than the screen.
    zoom(page, 1000, 1100)
    assert drawn_x(page) == list(range(1000, 1101))

    # Live updates keep arriving while history is shown: held in the model, not drawn.
    stream = RawStream(server.port, token).open()
    for i in range(BACKFILL, BACKFILL + 10):
        stream.write({"x": i, "y": 0})
    page.wait_for_function(f"() => window.plotserverViewer.figure().data[0].x.at(-1) === {BACKFILL + 9}")
    assert drawn_x(page) == list(range(1000, 1101))

    page.click("#history-live")
    page.wait_for_function(f"() => {PLOT}.data[0].x.at(-1) === {BACKFILL + 9}")
    assert drawn_x(page) == list(range(BACKFILL + 10 - WINDOW, BACKFILL + 10))
    assert page.locator("#history-live").is_hidden()
    x_range = page.evaluate(f"() => {PLOT}._fullLayout.xaxis.range")
    assert x_range[0] < BACKFILL + 10 - WINDOW + 1 and x_range[1] >= BACKFILL + 9  # the tail, autoranged

    # Following the tail again: new points are drawn as they come.
    for i in range(BACKFILL + 10, BACKFILL + 20):
        stream.write({"x": i, "y": 0})
    page.wait_for_function(f"() => {PLOT}.data[0].x.at(-1) === {BACKFILL + 19}")
    assert drawn_x(page) == list(range(BACKFILL + 20 - WINDOW, BACKFILL + 20))
    assert stream.end().status == 200


def test_quick_zooms_make_one_read_of_the_last_range(server, producer, page):
    _, plot = history_plot(server, producer)
    reads = open_live(page, plot)
    page.evaluate(
        f"""() => {{
        for (const [a, b] of [[0, 5000], [100, 9000], [2000, 2300]]) Plotly.relayout({PLOT}, {{'xaxis.range': [a, b]}});
    }}"""
    )
    page.wait_for_function("() => window.plotserverHistory.stats.drawn === 1")
    assert len(reads) == 1
    assert parse_qs(urlparse(reads[0]).query)["from"] == ["2000"]
    assert drawn_x(page) == list(range(2000, 2301))

    # A read asked for while another is on its way wins: the older one (held back here) is
    # abandoned and its answer never drawn.
    held = []
    page.route(lambda url: "to=20000" in url, lambda route: held.append(route))
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': [0, {BACKFILL}]}})")
    page.wait_for_function("() => window.plotserverHistory.stats.requests === 2")
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': [500, 600]}})")
    page.wait_for_function("() => window.plotserverHistory.stats.drawn === 2")
    assert drawn_x(page) == list(range(500, 601))
    if not failed:
        page.wait_for_event("requestfailed")
    assert "to=20000" in failed[0]
    assert page.evaluate("() => window.plotserverHistory.stats.drawn") == 2


def test_a_double_click_autoscale_returns_to_live(server, producer, page):
    _, plot = history_plot(server, producer)
    open_live(page, plot)
    zoom(page, 0, 100)
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.autorange': true}})")
    page.wait_for_function(f"() => {PLOT}.dataset.view === 'live' && {PLOT}.data[0].x.length === {WINDOW}")
    assert drawn_x(page) == list(range(BACKFILL - WINDOW, BACKFILL))


def test_a_plot_that_keeps_only_its_window_zooms_as_before(server, producer, page):
    token, plot = history_plot(server, producer, retention="window")
    reads = open_live(page, plot)
    assert page.locator("#history-bar").count() == 0
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': [0, {BACKFILL}]}})")
    stream = RawStream(server.port, token).open()
    stream.write({"x": BACKFILL, "y": 0})
    page.wait_for_function(f"() => {PLOT}.data[0].x.at(-1) === {BACKFILL}")  # still drawn live
    assert reads == []
    assert page.evaluate("() => window.plotserverHistory") is None
    assert stream.end().status == 200


def test_the_heap_stays_flat_across_repeated_zooms(server, producer, page, artifacts):
    _, plot = history_plot(server, producer)
    open_live(page, plot)
    cdp = page.context.new_cdp_session(page)

    def heap_mb() -> float:
        cdp.send("HeapProfiler.collectGarbage")
        return cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6

    zoom(page, 0, BACKFILL)
    first = heap_mb()
    for n in range(20):
        zoom(page, n * 500, BACKFILL - n * 300)
        zoom(page, n * 10, n * 10 + 400)
    last = heap_mb()
    (artifacts / "history-heap.json").write_text(json.dumps({"first_mb": first, "last_mb": last, "zooms": 40}))
    # Generous: plotly.js caches and the JIT vary by a few MB; a leak of the answers would not.
    assert last - first < 16, (first, last)


def test_a_secret_plot_of_dates_zooms_into_history_through_its_link(server, producer, page):
    token = producer.make_token("dates")
    plot = producer.make_plot([token], maxpoints=WINDOW, sharing="secret", title="dates")
    producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "7d"})
    start = datetime(2026, 11, 1, tzinfo=UTC)
    stamps = [(start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(5000)]
    assert send_lines(server.port, token, [{"x": x, "y": i % 7} for i, x in enumerate(stamps)]).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] >= 5000, message="the backfill stored")
    reads: list[str] = []
    page.on("request", lambda r: "/points/" in r.url and reads.append(r.url))
    page.goto(plot["web_url"])  # the secret link, not signed in
    page.wait_for_function(f"() => {PLOT}.data?.[0]?.x?.at(-1) === '{stamps[-1]}'")

    drawn = page.evaluate("() => window.plotserverHistory.stats.drawn")
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': ['2026-11-01 00:00', '2026-11-01 00:10']}})")
    page.wait_for_function(f"() => window.plotserverHistory.stats.drawn > {drawn}")
    query = parse_qs(urlparse(reads[-1]).query)
    assert query["share_key"] == [parse_qs(urlparse(plot["web_url"]).query)["share_key"][0]]
    assert query["from"][0].startswith("2026-11-01 00:00")
    assert drawn_x(page) == stamps[: 10 * 60 + 1]  # every point of the 10 minutes: older than the window
    assert page.evaluate("() => window.plotserverHistory.stats.failed") == 0


def test_the_mouse_zooms_into_history_and_a_double_click_returns_live(server, producer, page):
    _, plot = history_plot(server, producer)
    reads = open_live(page, plot)
    zoom(page, 0, BACKFILL)
    box = page.locator(".nsewdrag").first.bounding_box()
    middle = box["y"] + box["height"] / 2
    drawn = page.evaluate("() => window.plotserverHistory.stats.drawn")
    # A box zoom over the middle tenth of the plot, as a person drags it.
    page.mouse.move(box["x"] + box["width"] * 0.45, middle - 40)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.50, middle, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.55, middle + 40, steps=5)
    page.mouse.up()
    page.wait_for_function(f"() => window.plotserverHistory.stats.drawn > {drawn}")
    query = parse_qs(urlparse(reads[-1]).query)
    start, end = float(query["from"][0]), float(query["to"][0])
    assert 8000 < start < end < 12000  # about the middle tenth of 0..20,000
    shown = drawn_x(page)
    assert shown[0] >= start and shown[-1] <= end and len(shown) > 100

    page.mouse.dblclick(box["x"] + box["width"] / 2, middle)
    page.wait_for_function(f"() => {PLOT}.dataset.view === 'live' && {PLOT}.data[0].x[0] === {BACKFILL - WINDOW}")
    assert page.locator("#history-live").is_hidden()


def test_the_toolbar_pan_tool_stays_chosen_after_the_history_is_drawn(server, producer, page):
    _, plot = history_plot(server, producer)
    open_live(page, plot)
    zoom(page, 0, BACKFILL)
    page.hover(".nsewdrag")
    page.click(".modebar-btn[data-val='pan']")
    box = page.locator(".nsewdrag").first.bounding_box()
    middle = box["y"] + box["height"] / 2

    def drag_left() -> list[float]:
        """Drag a fifth of the plot to the left, as a person pans; the x range drawn after it."""
        drawn = page.evaluate("() => window.plotserverHistory.stats.drawn")
        page.mouse.move(box["x"] + box["width"] * 0.6, middle)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.4, middle, steps=10)
        page.mouse.up()
        page.wait_for_function(f"() => window.plotserverHistory.stats.drawn > {drawn}")
        return page.evaluate(f"() => {PLOT}._fullLayout.xaxis.range")

    for turn in (1, 2):  # the second drag comes after a read was drawn: still a pan, not a box zoom
        start, end = drag_left()
        assert page.evaluate(f"() => {PLOT}._fullLayout.dragmode") == "pan"
        assert end - start == pytest.approx(BACKFILL, rel=0.01)
        assert start == pytest.approx(turn * 0.2 * BACKFILL, rel=0.1)
