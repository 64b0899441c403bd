"""Guessing API keys or passwords is throttled per client address (THROTTLE_AUTH_FAILURES):
past the rate every attempt is 429 with a message, without being checked. Only failures count."""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core.models import ApiKey
from harness.live_server import Api, new_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def three_failures_a_minute(settings):
    settings.THROTTLE_AUTH_FAILURES = "3/min"
    cache.clear()
    yield
    cache.clear()


def basic(username: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode()


def get_plots(key: str):
    return APIClient().get("/api/plots/", HTTP_AUTHORIZATION=basic("alice", key))


def test_wrong_api_keys_past_the_rate_get_429_even_with_the_right_key_then(alice):
    key = ApiKey.issue(alice)
    assert [get_plots("wrong").status_code for _ in range(3)] == [401, 401, 401]
    refused = get_plots(key)
    assert refused.status_code == 429
    assert "THROTTLE_AUTH_FAILURES" in refused.json()["message"]
    assert int(refused["Retry-After"]) > 0


def test_the_right_key_is_never_counted(alice):
    key = ApiKey.issue(alice)
    assert all(get_plots(key).status_code == 200 for _ in range(10))
    assert get_plots("wrong").status_code == 401


def test_clientresp_counts_its_wrong_keys_too(alice):
    form = urlencode({"un": "alice", "key": "wrong", "args": "[]", "kwargs": "{}"})

    def post():
        return APIClient().generic("POST", "/clientresp", form, content_type="application/x-www-form-urlencoded")

    assert [post().status_code for _ in range(3)] == [401, 401, 401]
    refused = post()
    assert refused.status_code == 429
    assert "THROTTLE_AUTH_FAILURES" in refused.json()["error"]


def test_the_login_page_refuses_an_address_past_the_rate_of_wrong_passwords(client, alice):
    wrong = {"username": "alice", "password": "guess"}
    assert [client.post("/login/", wrong).status_code for _ in range(3)] == [200, 200, 200]
    refused = client.post("/login/", {"username": "alice", "password": "alice-password"})
    assert refused.status_code == 429
    assert "THROTTLE_AUTH_FAILURES" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_real_server_throttles_key_guessing_and_the_login_page(start_server):
    server = start_server(name="throttle", THROTTLE_AUTH_FAILURES="5/min")
    user = new_user(server.env, server.url)
    guesser = Api(server.url, user.username, "not-the-key")
    assert [guesser.get("/api/plots/")[0] for _ in range(5)] == [401] * 5
    status, body = guesser.get("/api/plots/")
    assert status == 429 and "THROTTLE_AUTH_FAILURES" in body["message"]
    assert user.get("/api/plots/")[0] == 429  # the address, not the key, is throttled

    # The same address at the login page, with the right password: refused unchecked.
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{server.url}/login/", timeout=10) as page:
        assert page.status == 200  # showing the form is not a sign-in
    csrf = next(cookie.value for cookie in jar if cookie.name == "csrftoken")
    form = urllib.parse.urlencode({"username": user.username, "password": "whatever", "csrfmiddlewaretoken": csrf})
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(urllib.request.Request(f"{server.url}/login/", data=form.encode(), method="POST"), timeout=10)
    assert refused.value.code == 429
    assert "THROTTLE_AUTH_FAILURES" in refused.value.read().decode()
