"""Destructive actions ask first: regenerating the API key and revoking a token happen only
when the question is answered yes."""

from __future__ import annotations

import pytest

from harness.live_server import Api

pytestmark = pytest.mark.browser


def answer_next_question(page, yes: bool) -> list[str]:
    asked: list[str] = []

    def on_dialog(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if yes else dialog.dismiss()

    page.once("dialog", on_dialog)
    return asked


def test_regenerating_the_api_key_asks_and_no_keeps_the_old_key(member_page, member, server):
    page = member_page
    page.goto(f"{server.url}/settings/")
    asked = answer_next_question(page, yes=False)
    page.click("#issue-api-key")
    assert asked and "old one stops working" in asked[0]
    assert page.locator("#new-api-key").count() == 0
    assert Api(server.url, member.username, member.api.key).get("/api/plots/")[0] == 200


def test_revoking_a_token_asks_and_only_yes_revokes(member_page, member, server):
    token = member.api.make_token("keep me")
    page = member_page
    page.goto(f"{server.url}/settings/")
    row = page.locator(f"tr:has(code:text-is('{token}'))")
    asked = answer_next_question(page, yes=False)
    row.locator("button.revoke").click()
    assert asked and "cannot be undone" in asked[0]
    assert member.api.stream_status(token)["revoked"] is None

    answer_next_question(page, yes=True)
    row.locator("button.revoke").click()
    page.wait_for_load_state()
    assert page.locator(f"tr:has(code:text-is('{token}')) .token-status").inner_text() == "revoked"
