"""The page never goes stale: it says when it is not live, reconnects by itself, and misses nothing."""

from __future__ import annotations

import pytest

from harness.live_server import new_user
from harness.producer import send_lines

pytestmark = pytest.mark.browser

STATE = "() => document.getElementById('status').dataset.state"


def wait_for_state(page, state: str, timeout: float = 15_000) -> None:
    page.wait_for_function(f"() => document.getElementById('status').dataset.state === '{state}'", timeout=timeout)


def stream_points(port: int, token: str, xs: range) -> None:
    assert send_lines(port, token, [{"x": x, "y": x % 5} for x in xs]).status == 200


def test_the_badge_turns_to_reconnecting_when_the_server_stops_and_back_to_live_with_no_point_missing(
    start_server, integration_db, page, artifacts
):
    server = start_server("restart")
    owner = new_user(integration_db.env, server.url)
    token = owner.make_token()
    plot = owner.make_plot([token], maxpoints=100)
    page.goto(plot["web_url"])
    wait_for_state(page, "live")
    stream_points(server.port, token, range(0, 10))
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 10")

    server.stop()
    wait_for_state(page, "reconnecting")
    page.screenshot(path=str(artifacts / "reconnecting.png"))
    assert page.locator("#status").inner_text().startswith("reconnecting")

    server.start()  # the same port and database
    stream_points(server.port, token, range(10, 20))  # written before the page is back
    wait_for_state(page, "live")
    stream_points(server.port, token, range(20, 25))  # and after
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 25")
    assert page.evaluate("() => document.getElementById('plot').data[0].x") == list(range(25))
    assert page.evaluate("() => window.plotserverViewer.figure().data[0].x") == list(range(25))


def test_the_badge_says_offline_after_the_server_stays_away(start_server, integration_db, page):
    server = start_server("away")
    owner = new_user(integration_db.env, server.url)
    plot = owner.make_plot([])
    page.add_init_script("window.plotserverViewerOptions = {offlineAfterMs: 2000}")
    page.goto(plot["web_url"])
    wait_for_state(page, "live")
    server.stop()
    wait_for_state(page, "reconnecting")
    wait_for_state(page, "offline")
    assert "retrying" in page.locator("#status").get_attribute("title")


def test_a_frozen_background_tab_catches_up_when_it_returns(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=30)
    page.goto(plot["web_url"])
    wait_for_state(page, "live")
    cdp = page.context.new_cdp_session(page)
    # What Chromium does to a tab left in the background: no frames, no timers, no tasks.
    cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
    stream_points(server.port, token, range(0, 200))
    cdp.send("Page.setWebLifecycleState", {"state": "active"})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.at(-1) === 199")
    assert page.evaluate("() => document.getElementById('plot').data[0].x") == list(range(170, 200))
    assert page.evaluate(STATE) == "live"


def test_a_hidden_tab_draws_nothing_and_catches_up_in_one_frame_when_shown(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=30)
    page.goto(plot["web_url"])
    wait_for_state(page, "live")
    # The snapshot is drawn in a frame of its own, which may still be due when the page turns live.
    page.wait_for_function("() => window.plotserverViewer.stats.frames >= 1")
    # Animation frames stop in a hidden tab; the viewer queues at most a window per trace.
    page.evaluate(
        "() => { window.__held = []; window.__raf = window.requestAnimationFrame;"
        " window.requestAnimationFrame = (callback) => window.__held.push(callback); }"
    )
    frames_before = page.evaluate("() => window.plotserverViewer.stats.frames")
    for start in range(0, 200, 20):
        stream_points(server.port, token, range(start, start + 20))
    page.wait_for_function("() => window.plotserverViewer.figure().data[0].x.at(-1) === 199")
    assert page.evaluate("() => document.getElementById('plot').data[0].x.length") == 0
    page.evaluate("() => { window.requestAnimationFrame = window.__raf; window.__held.forEach((f) => __raf(f)); }")
    page.wait_for_function("() => document.getElementById('plot').data[0].x.at(-1) === 199")
    assert page.evaluate("() => window.plotserverViewer.stats.frames") == frames_before + 1
    assert page.evaluate("() => document.getElementById('plot').data[0].x") == list(range(170, 200))


def test_a_dropped_connection_gets_exactly_what_it_missed_without_a_new_snapshot(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=100)
    page.goto(plot["web_url"])
    wait_for_state(page, "live")
    stream_points(server.port, token, range(0, 5))
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 5")
    cdp = page.context.new_cdp_session(page)
    network = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": True, **network})
    wait_for_state(page, "offline")  # the browser knows it is offline: no point pretending
    stream_points(server.port, token, range(5, 15))
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **network})
    page.wait_for_function("() => document.getElementById('plot').data[0].x.length === 15")
    stats = page.evaluate("() => window.plotserverViewer.stats")
    assert stats["replays"] == 1 and stats["snapshots"] == 1
    assert page.evaluate("() => document.getElementById('plot').data[0].x") == list(range(15))
