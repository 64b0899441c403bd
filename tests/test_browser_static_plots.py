"""A plot says what it is: one no stream feeds reads "static" (its badge and its card, with no
"last point" line), one whose stream has sent nothing yet reads "waiting for data", and only a
plot a stream has fed reads "live" with the time of its last point."""

from __future__ import annotations

import pytest

from harness.producer import send_lines

pytestmark = pytest.mark.browser

BADGE = "() => document.getElementById('status').textContent"


def static_plot(producer) -> dict:
    figure = {"data": [{"type": "scatter", "x": [1, 2, 3], "y": [3, 1, 2]}]}
    return producer.ok("POST", "/api/plots/", {"title": "Measured once", "figure": figure})


def test_a_plot_without_a_stream_reads_static_not_live(page, server, producer):
    plot = static_plot(producer)
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    badge = page.locator("#status")
    assert badge.inner_text() == "static"
    assert "stream" in badge.get_attribute("title")


def test_a_static_plots_card_says_static_and_shows_no_last_point(page, server, producer):
    plot = static_plot(producer)
    page.goto(server.url + "/")
    card = page.locator(f".card[data-plot='{plot['id']}']")
    assert card.locator(".plot-status").inner_text() == "static"
    assert not card.locator(".last-point").is_visible()
    assert "none yet" not in card.inner_text()
    with page.expect_response(lambda response: "/plots/cards.json" in response.url):
        pass  # refreshed, still the same
    page.wait_for_load_state("networkidle")
    assert card.locator(".plot-status").inner_text() == "static"
    assert not card.locator(".last-point").is_visible()


def test_a_plot_reads_waiting_until_its_stream_feeds_it_then_live(page, server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], title="Fed later")
    page.goto(plot["web_url"])
    page.wait_for_function(BADGE + " === 'waiting for data'")

    page.goto(server.url + "/")
    card = page.locator(f".card[data-plot='{plot['id']}']")
    assert not card.locator(".last-point").is_visible()

    assert send_lines(server.port, token, [{"x": 1, "y": 2}]).status == 200
    card.locator(".last-point").wait_for(state="visible", timeout=10_000)
    assert card.locator(".last-point").inner_text().startswith("last point ")

    page.goto(plot["web_url"])
    page.wait_for_function(BADGE + " === 'live'")
