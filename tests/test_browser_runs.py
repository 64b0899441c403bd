"""The plot page lists a stream's runs and overlays an earlier run on the live one
(docs/history.md, "Runs"), in Chromium against the live server."""

from __future__ import annotations

import math

import pytest

from harness.live_server import wait_for
from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser

PLOT = "document.getElementById('plot')"
FIRST = 300  # points of run 1, more than the window: the overlay reads them from the history


def two_runs(server, producer, retention: str):
    """A plot (window 100) whose stream ran twice: run 1 x = 0..299, run 2 "second" x = 0..49."""
    token = producer.make_token("runs")
    plot = producer.make_plot([token], maxpoints=100, title="runs")
    producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": retention})
    lines = [{"x": i, "y": round(math.sin(i / 20), 4)} for i in range(FIRST)]
    lines += [{"run": {"name": "second"}, "x": 0, "y": 5}, *({"x": i, "y": 5 + i / 100} for i in range(1, 50))]
    assert send_lines(server.port, token, lines).status == 200
    wait_for(lambda: producer.stream_status(token)["accepted"] == len(lines), message="both runs stored")
    return token, plot


def open_page(page, plot) -> None:
    page.goto(plot["web_url"])
    page.wait_for_function(f"() => {PLOT}.data?.[0]?.x?.length === 50")
    page.wait_for_selector("#runs-list li[data-run='2']")


def test_an_earlier_run_is_overlaid_dimmed_beside_the_live_one_and_removed(server, producer, page, artifacts):
    token, plot = two_runs(server, producer, "forever")
    open_page(page, plot)
    assert page.locator("#runs-list li[data-run='2'] .run-live").is_visible()
    assert "second" in page.locator("#runs-list li[data-run='2']").inner_text()

    page.click("#runs-list li[data-run='1'] button.run-overlay")
    page.wait_for_function(f"() => {PLOT}.data.length === 2")
    overlay = page.evaluate(
        f"() => {{ const t = {PLOT}.data[1]; return {{x: t.x, name: t.name, opacity: t.opacity}} }}"
    )
    assert overlay["name"] == "run 1 · trace 0"
    assert overlay["opacity"] < 1
    width = page.evaluate(f"() => {PLOT}._fullLayout._size.w")
    assert overlay["x"][0] == 0 and overlay["x"][-1] == FIRST - 1  # older than the live window
    assert len(overlay["x"]) <= max(width, FIRST)
    assert page.evaluate(f"() => {PLOT}.data[0].x.length") == 50  # the live run, untouched
    page.screenshot(path=str(artifacts / "runs-overlay.png"))

    # Live updates go on beside the overlay, which stays.
    stream = RawStream(server.port, token).open()
    stream.write({"x": 50, "y": 5.5})
    page.wait_for_function(f"() => {PLOT}.data[0].x.at(-1) === 50")
    assert page.evaluate(f"() => {PLOT}.data.length") == 2

    # A run started while the page is open joins the list at once.
    stream.write({"run": "new", "x": 0, "y": 9})
    page.wait_for_selector("#runs-list li[data-run='3'] .run-live")
    page.wait_for_function(f"() => {PLOT}.data[0].x.length === 1")
    assert page.locator("#runs-list li[data-run='2'] button.run-overlay").is_visible()
    assert stream.end().status == 200

    page.click("#runs-list li[data-run='1'] button.run-overlay")  # now "Remove"
    page.wait_for_function(f"() => {PLOT}.data.length === 1")


def test_a_window_plot_says_its_earlier_runs_are_not_kept(server, producer, page):
    _, plot = two_runs(server, producer, "window")
    open_page(page, plot)
    assert page.locator("#runs-list li[data-run='1'] .run-gone").inner_text() == "not kept"
    assert page.locator("#runs-list button.run-overlay").count() == 0
    assert "not kept" in page.locator("#runs-note").inner_text()
