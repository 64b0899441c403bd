"""A dashboard panel zooms into its plot's history as the plot page does (docs/dashboards.md,
"History in a panel"), in Chromium against the live server: a range before the live window is
read from the history API and drawn, linked panels follow, "Live" returns every panel to its
tail; a plot that keeps only its window, or whose history the visitor may not read, shows what
its window holds."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from harness.live_server import wait_for
from harness.producer import send_lines

pytestmark = pytest.mark.browser

BACKFILL = 300
WINDOW = 20
START = datetime(2026, 1, 1)


def x_of(i: int) -> str:
    return (START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S")


def backfilled_plot(server, producer, retention: str, sharing: str = "public") -> dict:
    """A plot of one trace, window WINDOW, with BACKFILL points a second apart already stored."""
    token = producer.make_token(retention)
    plot = producer.make_plot([token], maxpoints=WINDOW, sharing=sharing, title=retention, retention=retention)
    lines = [{"x": x_of(i), "y": i} for i in range(BACKFILL)]
    assert send_lines(server.port, token, lines, timeout=60).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] >= BACKFILL, message="the backfill stored")
    return plot


def panel(plot: dict) -> str:
    return f"document.querySelector(\".dashboard-plot[data-plot-id='{plot['id']}']\")"


def panel_x(page, plot: dict) -> list[str]:
    return [x.replace(" ", "T") for x in page.evaluate(f"() => {panel(plot)}.data[0].x")]


def open_dashboard(page, url: str, plots: list[dict]) -> list[str]:
    """Open the dashboard once every panel shows its newest window; return its range reads."""
    reads: list[str] = []
    page.on("request", lambda r: "/points/" in r.url and reads.append(r.url))
    page.goto(url)
    for plot in plots:
        page.wait_for_function(f"() => {panel(plot)}.data?.[0]?.x?.length === {WINDOW}")
    return reads


def test_a_panel_zoomed_into_the_past_shows_the_stored_points_and_live_returns_to_the_tail(server, producer, page):
    kept = backfilled_plot(server, producer, "forever")
    window_only = backfilled_plot(server, producer, "window")
    dashboard = producer.ok(
        "POST", "/api/dashboards/", {"sharing": "public", "panels": [{"plot": kept["id"]}, {"plot": window_only["id"]}]}
    )
    reads = open_dashboard(page, dashboard["web_url"], [kept, window_only])
    tail = [x_of(i) for i in range(BACKFILL - WINDOW, BACKFILL)]
    assert reads == [] and panel_x(page, kept) == tail
    live_button = page.locator(f".dashboard-panel[data-plot-id='{kept['id']}'] .panel-live")
    assert live_button.is_hidden()
    assert page.locator(f".dashboard-panel[data-plot-id='{window_only['id']}'] .panel-live").count() == 0

    # Zoom the panel that keeps only its window: the linked panel reads its history.
    page.evaluate(f"() => Plotly.relayout({panel(window_only)}, {{'xaxis.range': ['{x_of(10)}', '{x_of(50)}']}})")
    page.wait_for_function(f"() => {panel(kept)}.dataset.view === 'history' && {panel(kept)}.data[0].x.length === 41")
    assert panel_x(page, kept) == [x_of(i) for i in range(10, 51)]  # every stored point of the range
    assert all(f"/api/plots/{kept['id']}/" in url for url in reads) and reads
    assert panel_x(page, window_only) == tail  # what its window holds, nothing read
    assert live_button.is_visible()
    assert (
        "points shown"
        in page.locator(f".dashboard-panel[data-plot-id='{kept['id']}'] .panel-history-note").inner_text()
    )

    # The panel's own "Back to live".
    live_button.click()
    page.wait_for_function(
        f"() => {panel(kept)}.dataset.view === 'live' && {panel(kept)}.data[0].x.length === {WINDOW}"
    )
    assert panel_x(page, kept) == tail and live_button.is_hidden()

    # Zoomed again, the dashboard's "Live" returns every panel to its tail.
    page.evaluate(f"() => Plotly.relayout({panel(kept)}, {{'xaxis.range': ['{x_of(100)}', '{x_of(120)}']}})")
    page.wait_for_function(f"() => {panel(kept)}.data[0].x[0]?.replace(' ', 'T') === '{x_of(100)}'")
    page.click("#dashboard-live")
    page.wait_for_function(
        f"() => {panel(kept)}.dataset.view === 'live' && {panel(kept)}.data[0].x.length === {WINDOW}"
    )
    assert panel_x(page, kept) == tail
    page.wait_for_function(
        f"() => [{panel(kept)}, {panel(window_only)}].every(e => e._fullLayout.xaxis.autorange === true)"
    )


def test_a_secret_dashboard_reads_no_history_of_plots_its_visitor_may_not_read(server, producer, page):
    private = backfilled_plot(server, producer, "forever", sharing="private")
    dashboard = producer.ok("POST", "/api/dashboards/", {"sharing": "secret", "panels": [{"plot": private["id"]}]})
    reads = open_dashboard(page, dashboard["web_url"], [private])  # anonymous, by the secret link
    assert page.locator(".panel-live").count() == 0
    page.evaluate(f"() => Plotly.relayout({panel(private)}, {{'xaxis.range': ['{x_of(10)}', '{x_of(50)}']}})")
    start = f"String({panel(private)}._fullLayout.xaxis.range[0]).replace('T', ' ')"
    page.wait_for_function(f"() => {start}.startsWith('2026-01-01 00:00:10')")
    assert reads == [] and len(panel_x(page, private)) == WINDOW
