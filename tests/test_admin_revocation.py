"""Every way the admin revokes a token ends its open stream with 410: the change form's
"Revoked" checkbox, the list action and deleting the token (one rule, StreamToken.revoke)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def open_stream(streaming_plot):
    """A token whose producer holds its stream open, with one point written."""
    live = streaming_plot(name="admin-revocation")
    return live.token, live.stream, live.plot


def token_change_url(page, server, token: str) -> str:
    page.goto(f"{server.url}/admin/plots/streamtoken/?q={token}")
    return page.locator("#result_list tbody tr th a").first.get_attribute("href")


def test_ticking_revoked_on_the_change_form_ends_the_open_stream_with_410(admin_page, server, open_stream, producer):
    token, stream, plot = open_stream
    admin_page.goto(server.url + token_change_url(admin_page, server, token))
    admin_page.check("input[name=revoke]")
    admin_page.click("input[name=_save]")
    admin_page.wait_for_url(lambda url: "/change/" not in url)
    # The outcome, with a margin for a loaded machine (the latency is measured in test_stream_revocation).
    answer = stream.answer(timeout=5)
    assert (answer.status, answer.json["message"]) == (410, "the stream token was revoked")
    assert producer.stream_status(token)["revoked"] is not None
    assert producer.figure(plot["id"])["data"][0]["x"] == [1]


def test_saving_the_change_form_without_ticking_leaves_the_stream_open(admin_page, server, open_stream, producer):
    token, stream, _ = open_stream
    admin_page.goto(server.url + token_change_url(admin_page, server, token))
    admin_page.fill("input[name=name]", "renamed")
    admin_page.click("input[name=_save]")
    admin_page.wait_for_url(lambda url: "/change/" not in url)
    stream.write({"x": 2, "y": 2})
    assert producer.stream_status(token)["name"] == "renamed"
    assert not stream.has_answered()


def test_deleting_the_token_ends_the_open_stream_with_410(admin_page, server, open_stream):
    token, stream, _ = open_stream
    change = token_change_url(admin_page, server, token)
    admin_page.goto(server.url + change.replace("/change/", "/delete/"))
    admin_page.click("input[type=submit]")
    admin_page.wait_for_url(lambda url: "/delete/" not in url)
    answer = stream.answer(timeout=5)
    assert answer.status == 410


def test_the_list_action_ends_the_open_stream_with_410(admin_page, server, open_stream):
    token, stream, _ = open_stream
    admin_page.goto(f"{server.url}/admin/plots/streamtoken/?q={token}")
    admin_page.check("#result_list tbody tr input.action-select")
    admin_page.select_option("select[name=action]", "revoke_tokens")
    admin_page.click("button[name=index]")
    assert stream.answer(timeout=5).status == 410
