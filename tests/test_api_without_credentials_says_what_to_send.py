"""A request to the API without credentials plotserver reads is told what to send: the API key as
`Authorization: Bearer`, or with the username as HTTP Basic, or a login with a link back. API
clients get it as JSON (401 with WWW-Authenticate); a browser opening the browsable API is sent to
log in, and back to where it was going (never a password popup)."""

from __future__ import annotations

import json

from harness.live_server import fetch

HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_an_api_client_without_credentials_is_told_the_schemes_and_the_login(server):
    status, headers, body = fetch(f"{server.url}/api/plots/?page=2", headers={"Accept": "application/json"})
    assert status == 401
    assert headers["www-authenticate"].startswith("Basic")
    message = json.loads(body)["message"]
    assert "`Authorization: Bearer API_KEY`" in message
    assert "curl -u USERNAME:API_KEY" in message
    assert f"{server.url}/login/?next=%2Fapi%2Fplots%2F%3Fpage%3D2" in message
    assert "python manage.py apikey USERNAME" in message


def test_a_scheme_plotserver_does_not_read_is_named(server):
    status, _, body = fetch(f"{server.url}/api/plots/", headers={"Authorization": "Digest username=alice"})
    assert status == 401
    assert json.loads(body)["message"].startswith("`Authorization: Digest ...` is not a scheme plotserver reads.")


def test_an_anonymous_browser_on_the_api_root_logs_in_and_comes_back(server, page, member):
    page.goto(f"{server.url}/api/")
    page.wait_for_url(f"{server.url}/login/?next=%2Fapi%2F")
    page.fill("input[name=username]", member.username)
    page.fill("input[name=password]", member.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/api/")
    assert "Api Root" in page.inner_text("body")


def test_a_browser_posting_without_a_session_is_told_what_to_send(server):
    status, _, body = fetch(f"{server.url}/api/plots/", data=b"{}", headers={"Accept": HTML})
    assert status == 403
    assert "Authorization: Bearer API_KEY" in body
