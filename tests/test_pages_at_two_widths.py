"""Every page, on a desktop (1,400 px) and a phone (390 px): it renders, and plotserver's own
pages never scroll sideways on a phone. The pictures are docs/pages.md's: they land in
test-artifacts/pages/, and replace docs/pages/ only through `make screenshots`
(harness/screenshots.py), so a test run leaves the checkout unchanged.

A server of its own, on a database of its own, so the pictures show only what this module makes.
"""

from __future__ import annotations

import math

import pytest
from django.template.loader import render_to_string

from harness.live_server import IntegrationDatabase, LiveServer
from harness.producer import send_lines
from tests.browser import new_member

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1400, 900), "phone": (390, 844)}


@pytest.fixture(scope="module")
def site(tmp_path_factory, artifacts):
    """A fresh server with an owner (two plots: one streamed, one empty) and an operator."""
    database = IntegrationDatabase(tmp_path_factory.mktemp("pages"))
    server = LiveServer(database.env, artifacts, name="pages").start()
    try:
        owner = new_member(database.env, server.url)
        operator = new_member(database.env, server.url, staff=True)
        sine, walk = owner.api.make_token("lab sine"), owner.api.make_token("lab walk")
        live = owner.api.make_plot([sine, walk], title="Lab rig: temperatures")
        for token, values in ((sine, [20 + 3 * math.sin(i / 12) for i in range(240)]), (walk, _walk(240))):
            points = [{"x": i, "y": round(v, 3)} for i, v in enumerate(values)]
            assert send_lines(server.port, token, points).status == 200
        empty = owner.api.make_plot([owner.api.make_token("new sensor")], title="New sensor")
        yield {"server": server, "owner": owner, "operator": operator, "live": live, "empty": empty}
    finally:
        server.stop()
        database.drop()


def _walk(count: int) -> list[float]:
    value, values = 18.0, []
    for i in range(count):
        value += math.sin(i * 1.7) * 0.4 + math.cos(i * 0.31) * 0.2
        values.append(value)
    return values


@pytest.fixture(scope="module")
def shots(artifacts):
    """Where pictures go (`make screenshots` copies them into docs/pages/)."""
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    return folder


def open_as(browser, site, who: str | None, width: str):
    viewport = WIDTHS[width]
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(15_000)
    page = context.new_page()
    if who is not None:
        site[who].log_in(page, site["server"].url)
    return context, page


LIVE = "() => document.getElementById('status')?.dataset.state === 'live'"
PAGES = {
    # name: (who, path or a function of the site, a condition to wait for, plotserver's own page)
    "home": (None, "/", None, True),
    "plot-live": (None, lambda s: s["live"]["web_url"], LIVE, True),
    "plot-waiting": ("owner", lambda s: s["empty"]["web_url"], LIVE, True),
    "embed": (None, lambda s: s["live"]["embed_url"], LIVE, True),
    "login": (None, "/login/", None, True),
    "my-plots": ("owner", "/plots/", None, True),
    "new-plot": ("owner", "/plots/new/", None, True),
    "edit-plot": ("owner", lambda s: s["live"]["web_url"] + "edit/", None, True),
    "delete-plot": ("owner", lambda s: s["empty"]["web_url"] + "delete/", None, True),
    "settings": ("owner", "/settings/", None, True),
    "not-found": (None, "/no/such/page/", None, True),
    "api": ("owner", "/api/plots/", None, False),
    "admin-plot": ("operator", lambda s: f"/admin/plots/plot/{s['live']['id']}/change/", None, False),
    "admin-tokens": ("operator", "/admin/plots/streamtoken/", None, False),
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_at_both_widths(browser, site, shots, name, width):
    who, where, ready, own = PAGES[name]
    path = where(site) if callable(where) else where
    url = path if path.startswith("http") else site["server"].url + path
    context, page = open_as(browser, site, who, width)
    try:
        response = page.goto(url)
        assert response.status == (404 if name == "not-found" else 200)
        if ready:
            page.wait_for_function(ready)
        page.wait_for_load_state("networkidle")
        if own:
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {width}"
        page.screenshot(path=str(shots / f"{name}-{width}.png"))
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("template", ["403.html", "500.html"])
def test_the_error_pages_render_at_both_widths(browser, site, shots, template, width):
    html = render_to_string(template).replace("<head>", f'<head><base href="{site["server"].url}/">', 1)
    context, page = open_as(browser, site, None, width)
    try:
        page.set_content(html)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        name = {"403.html": "forbidden", "500.html": "server-error"}[template]
        page.screenshot(path=str(shots / f"{name}-{width}.png"))
    finally:
        context.close()
