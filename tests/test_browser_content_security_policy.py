"""With the Content-Security-Policy on, every page works in Chromium and breaks no rule of it:
the pages run only the server's own scripts (plotly.js included, without 'unsafe-eval')."""

from __future__ import annotations

import pytest

from harness.producer import RawStream
from tests.browser import new_member

pytestmark = pytest.mark.browser

# Records every violation the page reports, before any of its own scripts runs.
WATCH_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`));
"""


@pytest.fixture
def strict_server(start_server):
    return start_server(name="csp", CONTENT_SECURITY_POLICY="1")


def violations(page) -> list[str]:
    return page.evaluate("() => window.cspViolations")


def test_every_page_works_under_the_policy(strict_server, integration_db, page, artifacts):
    page.add_init_script(WATCH_VIOLATIONS)
    member = new_member(integration_db.env, strict_server.url)
    token = member.api.make_token("sine")
    plot = member.api.make_plot([token], sharing="secret")

    response = page.goto(plot["web_url"])
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-eval" not in policy
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'live'")
    stream = RawStream(strict_server.port, token).open()
    for i in range(5):
        stream.write({"x": i, "y": i * i})
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 5")
    assert page.locator(".scatterlayer .trace .points path").count() == 5
    page.screenshot(path=str(artifacts / "csp-live-plot.png"))
    assert violations(page) == []

    page.goto(plot["embed_url"])
    page.wait_for_function("() => document.getElementById('plot').data?.[0]?.x?.length === 5")
    assert violations(page) == []

    member.log_in(page, strict_server.url)
    for path in ("/", "/plots/", "/plots/new/", "/settings/", f"/~{member.username}/{plot['id']}/edit/"):
        page.goto(strict_server.url + path)
        page.wait_for_load_state("networkidle")
        assert violations(page) == [], path

    # The API's documentation: Swagger UI and Redoc start without an inline script.
    page.goto(strict_server.url + "/api/docs/")
    page.locator(".opblock-summary-path", has_text="/api/plots/").first.wait_for()
    page.goto(strict_server.url + "/api/redoc/")
    page.locator("h2", has_text="plots_list").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert violations(page) == []
    assert stream.end().status == 200
