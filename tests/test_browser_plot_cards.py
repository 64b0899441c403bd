"""Home and My plots show cards: a live sparkline, whether the plot streams, and the time of
its last point (not of its creation), in the one time format: relative, exact on hover."""

from __future__ import annotations

import re

import pytest

from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser

ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
SPARK_POINTS = "([sel, n]) => (document.querySelector(sel)?.getAttribute('points') || '').split(' ').length >= n"


def test_a_home_card_grows_its_sparkline_and_shows_the_last_point_time(page, server, producer, artifacts):
    token = producer.make_token()
    plot = producer.make_plot([token], title="Card on home")
    page.goto(server.url + "/")
    card = page.locator(f".card[data-plot='{plot['id']}']")
    assert not card.locator(".last-point").is_visible()  # no point yet: no "last point" line
    assert card.locator(".plot-status").inner_text() == "idle"

    stream = RawStream(server.port, token).open()
    for i in range(5):
        stream.write({"x": i, "y": i * i})
    spark = f".card[data-plot='{plot['id']}'] .spark polyline"
    page.wait_for_function(SPARK_POINTS, arg=[spark, 5])
    page.wait_for_function(
        "sel => document.querySelector(sel).textContent.startsWith('streaming')",
        arg=f".card[data-plot='{plot['id']}'] .plot-status",
    )
    time = card.locator(".last-point time")
    assert re.fullmatch(r"just now|\d+ s ago", time.inner_text())
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", time.get_attribute("title"))
    page.screenshot(path=str(artifacts / "home-cards.png"), full_page=True)
    stream.end()


def test_my_plots_never_shows_a_raw_iso_time(member_page, server, member):
    token = member.api.make_token()
    plot = member.api.make_plot([token], title="Times")
    assert send_lines(server.port, token, [{"x": 1, "y": 2}, {"x": 2, "y": 3}]).status == 200
    page = member_page
    page.goto(f"{server.url}/plots/")
    card = page.locator(f".card[data-plot='{plot['id']}']")
    first = card.locator(".last-point time").inner_text()
    assert not ISO.search(first) and re.fullmatch(r"just now|\d+ (s|min) ago", first)
    with page.expect_response(lambda response: "/plots/cards.json" in response.url):
        pass  # after a refresh of the cards, the same format
    page.wait_for_load_state("networkidle")
    again = card.locator(".last-point time").inner_text()
    assert not ISO.search(again) and re.fullmatch(r"just now|\d+ (s|min) ago", again)
    assert len(card.locator(".spark polyline").get_attribute("points").split()) == 2
