"""The admin is plotserver's: its name in the header, the window title and the index, its
mark beside the name, and its header colours, in light and in dark."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_admin_login_and_index_are_named_plotserver(page, server, operator):
    page.goto(server.url + "/admin/login/")
    assert page.locator("#site-name").inner_text().strip() == "plotserver admin"
    assert "plotserver" in page.title() and "Django" not in page.title()
    operator.log_in(page, server.url)
    page.goto(server.url + "/admin/")
    header = page.locator("#site-name")
    assert header.inner_text().strip() == "plotserver admin"
    assert header.locator("svg").is_visible()
    assert "Django" not in page.locator("#header").inner_text()
    assert page.locator("#content h1").inner_text() == "Plots, streams and accounts"
    assert page.title() == "Plots, streams and accounts | plotserver admin"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_admin_header_wears_plotservers_colours(page, server, scheme):
    page.emulate_media(color_scheme=scheme)
    page.goto(server.url + "/admin/login/")
    colour = page.eval_on_selector("#header", "el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(31, 41, 51)"  # #1f2933, the bar of plotserver's pages
