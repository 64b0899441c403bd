"""Swagger UI (/api/docs/) and Redoc (/api/redoc/) load everything from this server, fonts and
images included, and render the API: no Google fonts, no Redoc logo from its CDN, no Swagger
validator badge. The server is reached by a name (docs.test), as a deployment is: Swagger UI
asks its online validator for a badge only when the schema's address is not a loopback one."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.browser import launch_chromium

pytestmark = pytest.mark.browser

HOST = "docs.test"


@pytest.fixture
def named_server(start_server):
    return start_server(name="docs", ALLOWED_HOSTS=f"{HOST},127.0.0.1")


@pytest.fixture
def docs_page(named_server, playwright):
    """A page in a Chromium that resolves docs.test to this machine, recording every request."""
    browser = launch_chromium(playwright, extra_args=(f"--host-resolver-rules=MAP {HOST} 127.0.0.1",))
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.set_default_timeout(15_000)
        page.requested = []
        page.errors = []
        page.on("request", lambda request: page.requested.append(request.url))
        # Chromium's note on plain HTTP to a name other than localhost (a deployment has HTTPS).
        untrustworthy = "Cross-Origin-Opener-Policy header has been ignored"
        page.on(
            "console",
            lambda message: (
                message.type == "error" and untrustworthy not in message.text and page.errors.append(message.text)
            ),
        )
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.base = f"http://{HOST}:{named_server.port}"
        yield page
    finally:
        browser.close()


def elsewhere(page) -> list[str]:
    """The requests the page made to anything but this server (data: and blob: URLs are its own)."""
    return [
        url
        for url in page.requested
        if urlsplit(url).scheme not in ("data", "blob") and not url.startswith(page.base + "/")
    ]


def test_swagger_ui_renders_the_api_from_this_server_alone(docs_page):
    page = docs_page
    page.goto(f"{page.base}/api/docs/")
    page.locator(".opblock-summary-path", has_text="/api/plots/").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert page.locator(".opblock").count() > 10
    assert elsewhere(page) == []
    assert page.errors == []


def test_redoc_renders_the_api_from_this_server_alone(docs_page):
    page = docs_page
    page.goto(f"{page.base}/api/redoc/")
    page.locator("h2", has_text="plots_list").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert "API docs by Redocly" in page.locator(".menu-content").inner_text()  # the credit, drawn
    assert elsewhere(page) == []
    assert page.errors == []
    fonts = page.evaluate("() => getComputedStyle(document.querySelector('h1')).fontFamily")
    assert "Montserrat" not in fonts and "Roboto" not in fonts, fonts
