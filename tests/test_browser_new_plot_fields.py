"""The New plot form asks what Edit asks: besides title and sharing, the history kept
(retention) and the layout, so a plot is made as wanted in one go. The JSON side takes the
history kept too (its layout is in the figure)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def submit_new(page, server, form: str, fields: dict[str, str]) -> None:
    """Fill the New plot page's `form` (its element id) with `fields` (by selector) and submit it."""
    page.goto(f"{server.url}/plots/new/")
    for selector, value in fields.items():
        page.fill(selector, value)
    page.click(f"#{form} button[type=submit]")


def plot_made(page, member) -> dict:
    """The plot the submitted form made, once the page has gone on to it."""
    page.wait_for_url(lambda url: "/plots/new/" not in url)
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
    fields = {
        "#id_plot-title": "Kept a week",
        "#id_plot-retention": "7d",
        "#id_plot-layout": '{"yaxis": {"title": {"text": "°C"}}}',
    }
    submit_new(page, server, "plot-form", fields)
    plot = plot_made(page, member)
    assert plot["retention"] == "7d"
    assert plot["figure"]["layout"]["yaxis"] == {"title": {"text": "°C"}}
    assert plot["figure"]["layout"]["title"] == {"text": "Kept a week"}


def test_a_wrong_retention_or_layout_is_named_on_the_form(member_page, server):
    page = member_page
    fields = {"#id_plot-retention": "3 fortnights", "#id_plot-layout": '{"yaxis": {"titel": {"text": "t"}}}'}
    submit_new(page, server, "plot-form", fields)
    errors = " ".join(page.locator("#plot-form .errorlist").all_inner_texts())
    assert "/plots/new/" in page.url
    assert "forever" in errors  # the accepted forms are named
    assert "did you mean `title`?" in errors


def test_a_plot_made_from_json_keeps_its_retention(member_page, server, member):
    page = member_page
    fields = {
        "#id_json-title": "From JSON, kept",
        "#id_json-retention": "forever",
        "#id_json-figure": '{"data": [{"type": "scatter", "x": [1], "y": [2]}]}',
    }
    submit_new(page, server, "json-form", fields)
    assert plot_made(page, member)["retention"] == "forever"
