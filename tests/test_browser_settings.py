"""The settings page: the API key (shown once) and stream tokens with their live status."""

from __future__ import annotations

import pytest

from harness.live_server import Api
from harness.producer import RawStream, send_lines

pytestmark = pytest.mark.browser


def test_a_new_api_key_is_shown_once_and_works_at_once(member_page, member, server, artifacts):
    page = member_page
    page.goto(f"{server.url}/settings/")
    page.once("dialog", lambda dialog: dialog.accept())  # "the old key stops working": yes
    page.click("#issue-api-key")
    key = page.locator("#new-api-key").input_value()
    page.screenshot(path=str(artifacts / "settings-new-key.png"), full_page=True)
    assert Api(server.url, member.username, key).get("/api/plots/")[0] == 200
    assert Api(server.url, member.username, member.api.key).get("/api/plots/")[0] in (401, 403)
    member.api.key = key  # other tests of the session go on with the new one

    page.reload()
    assert page.locator("#new-api-key").count() == 0
    assert page.locator("#api-key-prefix").inner_text() == key[:6]
    assert key not in page.content()


def test_tokens_are_made_imported_and_revoked(member_page, server):
    page = member_page
    page.goto(f"{server.url}/settings/")
    page.fill("#token-form input[name=name]", "fresh")
    page.click("#token-form button[type=submit]")
    assert page.locator("tr:has-text('fresh') .token-status").inner_text() == "idle"

    imported = "legacy-token-0123456789"
    page.fill("#token-form input[name=name]", "from the old server")
    page.fill("#token-form input[name=token]", imported)
    page.click("#token-form button[type=submit]")
    row = page.locator(f"tr:has(code:text-is('{imported}'))")
    assert row.locator("td").first.inner_text() == "from the old server"

    page.fill("#token-form input[name=token]", imported)
    page.click("#token-form button[type=submit]")
    assert "taken already" in page.locator(".messages").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())  # "this cannot be undone": yes
    row.locator("button.revoke").click()
    assert page.locator(f"tr:has(code:text-is('{imported}')) .token-status").inner_text() == "revoked"
    assert send_lines(server.port, imported, [{"x": 1, "y": 1}]).status == 404


def test_each_token_shows_connected_last_write_counts_and_last_error(member_page, member, server, artifacts):
    token = member.api.make_token("status")
    page = member_page
    page.goto(f"{server.url}/settings/")
    row = page.locator(f"tr:has(code:text-is('{token}'))")
    assert row.locator(".last-write").inner_text() == "never"

    stream = RawStream(server.port, token).open()
    stream.write({"x": 1, "y": 2})
    stream.write("this is not json\n")
    stream.write({"x": 2, "y": 3})
    page.wait_for_function(
        f"""() => {{
          const row = [...document.querySelectorAll('tr[data-token]')].find(r => r.textContent.includes('{token}'));
          return row.querySelector('.token-status').textContent === 'connected'
            && row.querySelector('.accepted').textContent === '2' && row.querySelector('.rejected').textContent === '1';
        }}"""
    )
    assert row.locator(".last-error").inner_text() != ""
    assert row.locator(".last-write").inner_text() != "never"
    page.screenshot(path=str(artifacts / "settings.png"), full_page=True)
    assert stream.end().status == 200
    page.wait_for_function(
        f"""() => [...document.querySelectorAll('tr[data-token]')].find(r => r.textContent.includes('{token}'))
            .querySelector('.token-status').textContent === 'idle'"""
    )
