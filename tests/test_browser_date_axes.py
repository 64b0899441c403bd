"""The live page in headless Chromium draws dates with a UTC offset at the instants they name,
in their order, and labels a plot with a date axis "times in UTC" (the zone every date is kept
and drawn in); a plot without dates has no such label."""

from __future__ import annotations

import pytest

from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser

# One minute apart as instants: UTC, five hours west of it, one hour east of it.
THREE_INSTANTS = [
    {"x": "2026-12-07T05:20Z", "y": 0},
    {"x": "2026-12-07 00:21-05:00", "y": 1},
    {"x": "2026-12-07T06:22+01:00", "y": 2},
]
MINUTE_MS = 60_000


def drawn_x(page) -> list[float]:
    """Where plotly.js placed each point of trace 0 on its x axis (milliseconds for dates)."""
    return page.evaluate("() => document.getElementById('plot').calcdata[0].map((point) => point.x)")


def label(page):
    return page.locator("#time-zone")


def test_points_streamed_to_an_open_page_are_drawn_one_minute_apart_in_order(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token])
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    assert label(page).is_hidden()

    stream = RawStream(server.port, token).open()
    for point in THREE_INSTANTS:
        stream.write(point)
    page.wait_for_function("() => document.getElementById('plot').calcdata?.[0]?.length === 3", timeout=10_000)

    first, *rest = drawn_x(page)
    assert [x - first for x in rest] == [MINUTE_MS, 2 * MINUTE_MS]
    assert page.evaluate("() => document.getElementById('plot')._fullLayout.xaxis.type") == "date"
    label(page).wait_for(state="visible")
    assert label(page).inner_text() == "times in UTC"
    assert stream.end().status == 200


def test_a_page_opened_after_them_draws_them_alike_and_its_embed_says_utc(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token])
    assert send_lines(server.port, token, THREE_INSTANTS).json["accepted"] == 3

    for url in (plot["web_url"], plot["embed_url"]):
        page.goto(url)
        page.wait_for_function("() => document.getElementById('plot').calcdata?.[0]?.length === 3")
        first, *rest = drawn_x(page)
        assert [x - first for x in rest] == [MINUTE_MS, 2 * MINUTE_MS]
        label(page).wait_for(state="visible")
        assert label(page).inner_text() == "times in UTC"


def test_a_plot_of_numbers_has_no_time_zone_label(server, producer, page):
    token = producer.make_token()
    plot = producer.make_plot([token])
    assert send_lines(server.port, token, [{"x": 1, "y": 1}, {"x": 2, "y": 4}]).json["accepted"] == 2
    page.goto(plot["web_url"])
    page.wait_for_function("() => document.getElementById('plot').calcdata?.[0]?.length === 2")
    assert page.evaluate("() => document.getElementById('plot')._fullLayout.xaxis.type") == "linear"
    assert label(page).is_hidden()
