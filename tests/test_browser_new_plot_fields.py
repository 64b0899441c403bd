"""The New plot form asks what Edit asks: besides title and sharing, the history kept
(retention) and the layout, so a plot is made as wanted in one go. The JSON side takes the
history kept too (its layout is in the figure)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def plot_of(page, member) -> dict:
    plot_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    return member.api.ok("GET", f"/api/plots/{plot_id}/")


def test_new_offers_the_fields_edit_offers(member_page, server, member):
    page = member_page
    plot = member.api.make_plot([], title="Fields")
    page.goto(f"{plot['web_url']}edit/")
    edit_fields = set(page.eval_on_selector_all("#plot-form [name^='plot-']", "els => els.map(e => e.name)"))
    page.goto(f"{server.url}/plots/new/")
    new_fields = set(page.eval_on_selector_all("#plot-form [name^='plot-']", "els => els.map(e => e.name)"))
    assert {"plot-retention", "plot-layout"} <= new_fields
    assert new_fields == edit_fields
    assert page.locator("#id_json-retention").is_visible()


def test_a_plot_made_from_the_form_keeps_its_retention_and_layout(member_page, server, member):
    page = member_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_plot-title", "Kept a week")
    page.fill("#id_plot-retention", "7d")
    page.fill("#id_plot-layout", '{"yaxis": {"title": {"text": "°C"}}}')
    page.click("#plot-form button[type=submit]")
    page.wait_for_url(lambda url: "/plots/new/" not in url)
    plot = plot_of(page, member)
    assert plot["retention"] == "7d"
    assert plot["figure"]["layout"]["yaxis"] == {"title": {"text": "°C"}}
    assert plot["figure"]["layout"]["title"] == {"text": "Kept a week"}


def test_a_wrong_retention_or_layout_is_named_on_the_form(member_page, server):
    page = member_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_plot-retention", "3 fortnights")
    page.fill("#id_plot-layout", '{"yaxis": {"titel": {"text": "t"}}}')
    page.click("#plot-form button[type=submit]")
    errors = " ".join(page.locator("#plot-form .errorlist").all_inner_texts())
    assert "/plots/new/" in page.url
    assert "forever" in errors  # the accepted forms are named
    assert "did you mean `title`?" in errors


def test_a_plot_made_from_json_keeps_its_retention(member_page, server, member):
    page = member_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_json-title", "From JSON, kept")
    page.fill("#id_json-retention", "forever")
    page.fill("#id_json-figure", '{"data": [{"type": "scatter", "x": [1], "y": [2]}]}')
    page.click("#json-form button[type=submit]")
    page.wait_for_url(lambda url: "/plots/new/" not in url)
    assert plot_of(page, member)["retention"] == "forever"
