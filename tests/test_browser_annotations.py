"""The live plot page in headless Chromium draws an annotation the moment it is made, moves it
when it is changed and drops it when it is deleted, without a reload; an old one shows when the
page zooms into history and during a replay; the embed draws them too (docs/annotations.md)."""

from __future__ import annotations

import pytest

from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser

# The shapes plotly.js holds that draw annotations (named "plotserver-annotation-<id>").
DRAWN = (
    "() => (document.getElementById('plot').layout?.shapes || [])"
    ".filter(s => s.name?.startsWith('plotserver-annotation-'))"
)


def test_the_page_draws_a_new_annotation_live_and_drops_a_deleted_one(server, producer, page, artifacts):
    token = producer.make_token()
    plot = producer.make_plot([token], title="Valve 7")
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    stream = RawStream(server.port, token).open()
    for i in range(10):
        stream.write({"x": i, "y": i % 3})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 10")
    snapshots = page.evaluate("() => window.plotserverViewer.stats.snapshots")

    path = f"/api/plots/{plot['id']}/annotations/"
    made = producer.ok("POST", path, {"x": 5, "text": "valve <open>"})
    page.wait_for_function(f"() => ({DRAWN})().length === 1", timeout=10_000)
    assert page.evaluate(f"() => ({DRAWN})()[0].x0") == 5
    # Drawn by plotly.js, with its text as written (not read as HTML).
    page.locator(".annotation-text", has_text="valve <open>").wait_for(timeout=10_000)
    # An old event outside the points shown is not drawn: it would widen the axis.
    producer.ok("POST", path, {"x": -500, "text": "long ago"})
    producer.ok("PATCH", f"{path}{made['id']}/", {"x": 6, "x_end": 8, "color": "green"})
    page.wait_for_function(f"() => ({DRAWN})()[0]?.type === 'rect'", timeout=10_000)
    assert page.evaluate(f"() => ({DRAWN})().map(s => [s.x0, s.x1])") == [[6, 8]]
    page.screenshot(path=str(artifacts / "annotations.png"))

    producer.ok("DELETE", f"{path}{made['id']}/")
    page.wait_for_function(f"() => ({DRAWN})().length === 0", timeout=10_000)
    assert page.locator(".annotation-text", has_text="valve").count() == 0
    # Live, without a snapshot, and the owner's stored layout holds none of it.
    assert page.evaluate("() => window.plotserverViewer.stats.snapshots") == snapshots
    assert "shapes" not in producer.ok("GET", f"/api/plots/{plot['id']}/")["figure"]["layout"]
    assert stream.end().status == 200


def test_an_old_annotation_shows_when_the_page_zooms_into_history_and_the_embed_draws_too(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token], maxpoints=20, retention="forever")
    assert send_lines(server.port, token, [{"x": i, "y": i % 7} for i in range(200)]).status == 200
    path = f"/api/plots/{plot['id']}/annotations/"
    old = producer.ok("POST", path, {"x": 50, "text": "long ago"})
    recent = producer.ok("POST", path, {"x": 190, "text": "just now"})
    drawn_ids = f"() => ({DRAWN})().map(s => Number(s.name.split('-').at(-1)))"

    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.at(-1) === 199")
    page.wait_for_function(f"() => ({drawn_ids})().length === 1")
    assert page.evaluate(drawn_ids) == [recent["id"]]  # the window holds 180..199

    drawn = page.evaluate("() => window.plotserverHistory.stats.drawn")
    page.evaluate("() => Plotly.relayout(document.getElementById('plot'), {'xaxis.range': [0, 199]})")
    page.wait_for_function(f"() => window.plotserverHistory.stats.drawn > {drawn}")
    assert sorted(page.evaluate(drawn_ids)) == [old["id"], recent["id"]]

    # A replay of that range draws them from its start (its trace starts empty).
    page.select_option("#replay-speed", "1")  # 200 s: still playing while it is looked at
    page.click("#replay-play")
    page.wait_for_function("() => document.getElementById('plot').dataset.replay === 'playing'")
    page.wait_for_function("() => document.getElementById('plot').data[0].x.length < 20")  # begun
    page.wait_for_function(f"() => ({drawn_ids})().length === 2")
    assert sorted(page.evaluate(drawn_ids)) == [old["id"], recent["id"]]
    page.click("#replay-stop")

    page.goto(plot["embed_url"])
    page.wait_for_function(f"() => ({drawn_ids})().length === 1")
    assert page.evaluate(drawn_ids) == [recent["id"]]
