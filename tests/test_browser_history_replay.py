"""Replay on the live page (docs/history.md, "On the page"): the range in view is read from the
history and played back through the live drawing path at the chosen speed, in order, then Stop
returns to the tail. Outcome, not timing: the points arrive a few at a time and in x order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from harness.live_server import wait_for
from harness.producer import send_lines
from tests.test_browser_history_zoom import BACKFILL, PLOT, WINDOW, drawn_x, history_plot, open_live, zoom

pytestmark = pytest.mark.browser

# Each animation frame, the newest x drawn and how many points are drawn.
SAMPLER = f"""() => {{
    window.replaySamples = [];
    const el = {PLOT};
    (function sample() {{
        const x = el.data?.[0]?.x || [];
        window.replaySamples.push([x.at(-1) ?? null, x.length]);
        if (el.dataset.replay !== 'done') requestAnimationFrame(sample);
    }})();
}}"""


def test_replay_plays_the_view_in_order_at_the_chosen_speed_then_stop_returns_live(server, producer, page):
    _, plot = history_plot(server, producer)
    reads = open_live(page, plot)
    zoom(page, 100, 700)  # x are seconds here: 600 s of history, 6 s at 100 times

    page.select_option("#replay-speed", "100")
    page.click("#replay-play")
    page.wait_for_function(f"() => {PLOT}.dataset.replay === 'playing'")
    assert page.locator("#replay-stop").is_enabled()
    page.wait_for_function(f"() => {PLOT}.data[0].x.length < {WINDOW}")  # the replay starts empty
    page.evaluate(SAMPLER)
    page.wait_for_function(f"() => {PLOT}.dataset.replay === 'done'", timeout=60_000)

    read = reads[-1]
    assert "method=none" in read and "from=100" in read and "to=700" in read
    # Played as if live: the trace's window of the newest maxpoints, ending at the range's end.
    assert drawn_x(page) == list(range(701 - WINDOW, 701))
    samples = page.evaluate("() => window.replaySamples")
    newest = [x for x, _ in samples if x is not None]
    assert newest == sorted(newest)  # in order
    assert len(set(newest)) > 5  # a few at a time, not all at once
    assert "at 100\N{MULTIPLICATION SIGN}" in page.locator("#history-note").inner_text()
    assert page.evaluate("() => window.plotserverHistory.stats.replayed") == 601

    page.click("#replay-stop")
    page.wait_for_function(f"() => {PLOT}.dataset.view === 'live' && {PLOT}.data[0].x.at(-1) === {BACKFILL - 1}")
    assert drawn_x(page) == list(range(BACKFILL - WINDOW, BACKFILL))


def test_zooming_during_a_replay_stops_it_and_shows_history(server, producer, page):
    _, plot = history_plot(server, producer)
    open_live(page, plot)
    zoom(page, 0, 10_000)
    page.select_option("#replay-speed", "1")  # 10,000 s: still playing when the zoom comes
    page.click("#replay-play")
    page.wait_for_function(f"() => {PLOT}.dataset.replay === 'playing' && {PLOT}.data[0].x.length > 0")
    zoom(page, 50, 60)
    assert page.evaluate(f"() => {PLOT}.dataset.view") == "history"
    assert drawn_x(page) == list(range(50, 61))


def test_dates_replay_by_their_instants(server, producer, page):
    token = producer.make_token("dates")
    plot = producer.make_plot([token], maxpoints=WINDOW, title="dates")
    producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "forever"})
    start = datetime(2026, 11, 1, tzinfo=UTC)
    stamps = [(start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(1000)]
    assert send_lines(server.port, token, [{"x": x, "y": i} for i, x in enumerate(stamps)]).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] >= 1000, message="the backfill stored")
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {PLOT}.data?.[0]?.x?.at(-1) === '{stamps[-1]}'")
    page.evaluate(f"() => Plotly.relayout({PLOT}, {{'xaxis.range': ['2026-11-01 00:00', '2026-11-01 00:05']}})")
    page.wait_for_function("() => window.plotserverHistory.stats.drawn === 1")

    page.select_option("#replay-speed", "100")  # 300 s of dates: 3 s
    page.click("#replay-play")
    page.wait_for_function(f"() => {PLOT}.dataset.replay === 'playing' && {PLOT}.data[0].x.length < {WINDOW}")
    page.evaluate(SAMPLER)
    page.wait_for_function(f"() => {PLOT}.dataset.replay === 'done'", timeout=60_000)
    assert drawn_x(page) == stamps[301 - WINDOW : 301]
    newest = [x for x, _ in page.evaluate("() => window.replaySamples") if x is not None]
    assert newest == sorted(newest) and len(set(newest)) > 5
