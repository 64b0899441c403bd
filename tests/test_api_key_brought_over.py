"""A key of the user's own on the settings page (a Plotly API key a board's firmware keeps):
used in place of a made one, shown once; a key that cannot be used is refused saying why."""

import re

import pytest

from core.models import ApiKey

pytestmark = pytest.mark.django_db


def test_a_key_brought_over_replaces_the_key_and_is_shown_once(client, alice):
    ApiKey.issue(alice)
    client.force_login(alice)
    page = client.post("/settings/api-key/", {"key": "plotly1234"}, follow=True)
    assert page.status_code == 200
    assert 'value="plotly1234"' in page.content.decode()
    assert ApiKey.user_for("alice", "plotly1234") == alice
    assert "plotly1234" not in client.get("/settings/").content.decode()  # once


def test_a_key_that_cannot_be_used_is_refused_and_the_old_one_kept(client, alice, bob):
    old = ApiKey.issue(alice)
    ApiKey.issue(bob, brought="plotly1234")
    client.force_login(alice)
    for key, reason in (("short", "10 to 128 letters"), ("plotly1234", "cannot be used")):
        page = client.post("/settings/api-key/", {"key": key}, follow=True)
        assert reason in page.content.decode()
    assert ApiKey.user_for("alice", old) == alice


def test_without_a_key_a_random_one_is_made(client, alice):
    client.force_login(alice)
    page = client.post("/settings/api-key/", {}, follow=True).content.decode()
    shown = re.search(r'id="new-api-key" class="copy" readonly value="([^"]+)"', page)
    assert shown is not None and len(shown.group(1)) == 43  # 256 random bits
    assert ApiKey.user_for("alice", shown.group(1)) == alice
