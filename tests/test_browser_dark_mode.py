"""The pages and the plot follow the browser's colour preference (prefers-color-scheme): dark
pages, a dark plot (unless the figure sets its own colours), the browsable API and the admin
dark too; and the plot changes with the preference while the page is open."""

from __future__ import annotations

import re

import pytest

from harness.producer import send_lines

pytestmark = pytest.mark.browser

PAPER = "() => document.getElementById('plot')._fullLayout?.paper_bgcolor"
DRAWN = "() => !!document.getElementById('plot')._fullLayout"


def brightness(colour: str) -> float:
    """The mean of a CSS colour's red, green and blue (0 black, 255 white)."""
    if colour.startswith("#"):
        digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:4])
        values = [int(digits[i : i + 2], 16) for i in (0, 2, 4)]
    else:
        values = [float(v) for v in re.findall(r"[\d.]+", colour)[:3]]
    return sum(values) / 3


def background(page, selector: str) -> float:
    return brightness(page.eval_on_selector(selector, "el => getComputedStyle(el).backgroundColor"))


@pytest.fixture
def dark_page(browser, page):
    """A page in a context whose browser prefers dark (JavaScript errors fail the test, as `page`)."""
    context = browser.new_context(viewport={"width": 1200, "height": 800}, color_scheme="dark")
    context.set_default_timeout(10_000)
    dark = context.new_page()
    errors: list[str] = []
    dark.on("pageerror", lambda error: errors.append(str(error)))
    dark.on("console", lambda message: message.type == "error" and errors.append(message.text))
    yield dark
    context.close()
    # A page refused on purpose (an anonymous visitor on /api/) is logged as a failed load.
    real = [e for e in errors if "WebSocket connection" not in e and "Failed to load resource" not in e]
    assert not real, "JavaScript errors on the page:\n" + "\n".join(real)


def streamed_plot(server, producer, title="Dark or light", layout=None) -> dict:
    token = producer.make_token()
    plot = producer.make_plot([token], title=title)
    if layout is not None:
        figure = producer.ok("GET", f"/api/plots/{plot['id']}/")["figure"]
        figure["layout"] = layout
        producer.ok("PATCH", f"/api/plots/{plot['id']}/", {"figure": figure})
    assert send_lines(server.port, token, [{"x": i, "y": i % 3} for i in range(5)]).status == 200
    return plot


def test_a_browser_that_prefers_dark_gets_dark_pages_and_a_dark_plot(dark_page, server, producer, artifacts):
    plot = streamed_plot(server, producer)
    dark_page.goto(server.url + "/")
    assert background(dark_page, "body") < 60
    assert background(dark_page, f".card[data-plot='{plot['id']}']") < 60
    dark_page.goto(plot["web_url"])
    dark_page.wait_for_function(DRAWN)
    assert background(dark_page, "body") < 60
    assert background(dark_page, ".panel") < 60
    assert brightness(dark_page.evaluate(PAPER)) < 60
    assert brightness(dark_page.evaluate("() => document.getElementById('plot')._fullLayout.plot_bgcolor")) < 60
    font = dark_page.evaluate("() => document.getElementById('plot')._fullLayout.font.color")
    assert brightness(font) > 180
    dark_page.screenshot(path=str(artifacts / "dark-plot.png"), full_page=True)


def test_a_browser_that_prefers_light_gets_light_pages_and_a_light_plot(page, server, producer):
    plot = streamed_plot(server, producer)
    page.goto(plot["web_url"])
    page.wait_for_function(DRAWN)
    assert background(page, "body") > 200
    assert brightness(page.evaluate(PAPER)) > 200


def test_the_plot_follows_the_preference_while_the_page_is_open(page, server, producer):
    plot = streamed_plot(server, producer)
    page.goto(plot["web_url"])
    page.wait_for_function(DRAWN)
    assert brightness(page.evaluate(PAPER)) > 200
    page.emulate_media(color_scheme="dark")
    page.wait_for_function(PAPER + " === '#1b2330'")
    assert background(page, "body") < 60
    page.emulate_media(color_scheme="light")
    page.wait_for_function(PAPER + " === '#fff'")


def test_a_figures_own_colours_win_over_the_dark_template(dark_page, server, producer):
    plot = streamed_plot(server, producer, title="Own colours", layout={"paper_bgcolor": "#fdf6e3"})
    dark_page.goto(plot["web_url"])
    dark_page.wait_for_function(DRAWN)
    assert dark_page.evaluate(PAPER) == "#fdf6e3"


def test_the_browsable_api_and_the_admin_are_dark_too(dark_page, server, operator):
    dark_page.goto(server.url + "/api/")
    assert background(dark_page, "body") < 60
    operator.log_in(dark_page, server.url)
    dark_page.goto(server.url + "/admin/")
    assert background(dark_page, "body") < 60
