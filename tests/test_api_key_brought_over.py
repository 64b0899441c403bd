"""A key of the user's own on the settings page (a Plotly API key a board's firmware keeps):
used in place of a made one, shown once; a key that cannot be used is refused saying why."""

import re
from base64 import b64encode

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


def test_a_key_that_cannot_be_used_is_refused_and_the_old_one_kept(client, alice):
    old = ApiKey.issue(alice)
    client.force_login(alice)
    page = client.post("/settings/api-key/", {"key": "short"}, follow=True)
    assert "10 to 128 letters" in page.content.decode()
    assert ApiKey.user_for("alice", old) == alice


def test_a_key_brought_over_is_refused_as_a_bearer_key_and_taken_with_the_user_name(client, alice):
    ApiKey.issue(alice, brought="plotly1234")
    bearer = client.get("/api/plots/", headers={"Authorization": "Bearer plotly1234"})
    assert bearer.status_code == 401
    basic = client.get("/api/plots/", headers={"Authorization": "Basic " + b64encode(b"alice:plotly1234").decode()})
    assert basic.status_code == 200


def test_without_a_key_a_random_one_is_made(client, alice):
    client.force_login(alice)
    page = client.post("/settings/api-key/", {}, follow=True).content.decode()
    shown = re.search(r'id="new-api-key" class="copy" readonly value="([^"]+)"', page)
    assert shown is not None and len(shown.group(1)) == 43  # 256 random bits
    assert ApiKey.user_for("alice", shown.group(1)) == alice
