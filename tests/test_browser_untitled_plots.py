"""A plot made without a title reads "Untitled plot #<id>" wherever it is named: its page, the
window title, its card, the delete page; never a bare "Plot 9" that reads like a title."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_an_untitled_plot_is_named_untitled_everywhere(member_page, server, member):
    plot = member.api.ok("POST", "/api/plots/", {"figure": {"data": [{"type": "scatter", "x": [1], "y": [1]}]}})
    name = f"Untitled plot #{plot['id']}"
    page = member_page
    page.goto(plot["web_url"])
    assert page.locator("h1").inner_text() == name
    assert page.title().startswith(name)
    page.goto(f"{server.url}/plots/")
    assert page.locator(f".card[data-plot='{plot['id']}'] .card-title").inner_text() == name
    page.goto(f"{plot['web_url']}delete/")
    assert name in page.locator("h1").inner_text()
    assert not re.search(rf"\bPlot {plot['id']}\b", page.content())
