"""The plot forms hold together: an error on the JSON side leaves the form side with its
trace; radios sit on one line with their labels; typos in pasted JSON name the closest name."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_an_error_in_the_json_box_keeps_a_trace_on_the_form_side(member_page, server):
    page = member_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_json-figure", "{not json")
    page.click("#json-form button[type=submit]")
    assert "Not valid JSON" in page.locator("#json-form").inner_text()
    assert page.locator("#plot-form .trace-form").count() == 1
    assert page.locator("#id_traces-0-type").is_visible()


def test_a_typo_in_pasted_json_names_the_path_and_the_closest_name(member_page, server):
    page = member_page
    page.goto(f"{server.url}/plots/new/")
    page.fill("#id_json-figure", '{"data": [{"type": "scater", "x": [1], "y": [1]}]}')
    page.click("#json-form button[type=submit]")
    errors = page.locator("#create-errors").inner_text()
    assert "figure.data[0].type" in errors and "did you mean `scatter`?" in errors


@pytest.mark.parametrize("where", ["/plots/new/", "edit"])
def test_sharing_radios_sit_on_one_line_with_their_labels(member_page, server, member, where):
    page = member_page
    if where == "edit":
        plot = member.api.make_plot([], title="Radios")
        page.goto(f"{plot['web_url']}edit/")
    else:
        page.goto(server.url + where)
    radios = page.locator("input[type=radio][name$=sharing]")
    assert radios.count() >= 3
    for i in range(radios.count()):
        radio = radios.nth(i).bounding_box()
        label = radios.nth(i).locator("xpath=..").bounding_box()
        # One line: the radio's middle is within the label's height, which is one line high.
        assert label["y"] <= radio["y"] + radio["height"] / 2 <= label["y"] + label["height"]
        assert label["height"] < 2 * radio["height"] + 8


def test_the_edit_form_refuses_a_layout_typo_naming_the_closest_name(member_page, member):
    plot = member.api.make_plot([], title="Layout typo")
    page = member_page
    page.goto(f"{plot['web_url']}edit/")
    page.fill("#id_plot-layout", '{"xaxis": {"titel": {"text": "t"}}}')
    page.click("#plot-form button[type=submit]")
    assert "did you mean `title`?" in page.locator("#plot-form").inner_text()
