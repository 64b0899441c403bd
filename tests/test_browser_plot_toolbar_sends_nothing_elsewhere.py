"""The plot's toolbar offers nothing that sends the figure to another site: plotly.js's own
"Share chart..." (an upload to Plotly's cloud, shown by default since plotly.js 4) is off on
every page that draws a plot, the live page (history mode included) and the embed page."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# What the drawn plot was configured with, and the toolbar it shows.
DRAWN = """() => {
  const el = document.getElementById('plot');
  const context = el._context;
  return {
    showSendToCloud: context.showSendToCloud,
    plotlyServerURL: context.plotlyServerURL,
    buttons: [...el.querySelectorAll('.modebar-btn')].map((b) => b.dataset.title),
  };
}"""


@pytest.fixture
def drawn_plot(member):
    figure = {"data": [{"type": "scatter", "x": [1, 2, 3], "y": [1, 4, 9]}]}
    return member.api.ok("POST", "/api/plots/", {"title": "toolbar", "sharing": "secret", "figure": figure})


def shown_toolbar(page) -> dict:
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 3")
    page.hover("#plot .plot-container")  # the toolbar shows on hover
    page.wait_for_selector("#plot .modebar-btn")
    return page.evaluate(DRAWN)


def assert_nothing_leaves(drawn: dict) -> None:
    assert drawn["showSendToCloud"] is False
    assert drawn["plotlyServerURL"] == ""
    assert "Download plot as a PNG" in drawn["buttons"], drawn["buttons"]  # the toolbar itself is there
    assert not [title for title in drawn["buttons"] if "share" in title.lower() or "cloud" in title.lower()]


def test_the_live_page_toolbar_has_no_upload_button(member_page, drawn_plot):
    member_page.goto(drawn_plot["web_url"])
    assert_nothing_leaves(shown_toolbar(member_page))


def test_the_embed_page_toolbar_has_no_upload_button(page, drawn_plot):
    page.goto(drawn_plot["embed_url"])
    assert_nothing_leaves(shown_toolbar(page))
