"""API authentication: HTTP Basic with username:api_key, as Plotly's clients send it."""

import base64

import pytest
from rest_framework.test import APIClient

from core.models import ApiKey

pytestmark = pytest.mark.django_db


def basic(username: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode()


def test_a_users_api_key_authenticates_them(alice):
    key = ApiKey.issue(alice)
    response = APIClient().get("/api/plots/", HTTP_AUTHORIZATION=basic("alice", key))
    assert response.status_code == 200


def test_only_a_hash_of_the_key_is_stored(alice):
    key = ApiKey.issue(alice)
    assert key not in ApiKey.objects.get(user=alice).key_hash


def test_a_wrong_key_is_a_401_with_a_message(alice):
    ApiKey.issue(alice)
    response = APIClient().get("/api/plots/", HTTP_AUTHORIZATION=basic("alice", "wrong"))
    assert response.status_code == 401
    assert "API key" in response.json()["message"]


def test_a_new_key_replaces_the_old_one(alice):
    old = ApiKey.issue(alice)
    ApiKey.issue(alice)
    assert APIClient().get("/api/plots/", HTTP_AUTHORIZATION=basic("alice", old)).status_code == 401


def test_plotly_authorization_carries_the_key_when_a_proxy_holds_authorization(alice):
    key = ApiKey.issue(alice)
    response = APIClient().get(
        "/api/plots/", HTTP_AUTHORIZATION=basic("proxyuser", "proxypass"), HTTP_PLOTLY_AUTHORIZATION=basic("alice", key)
    )
    assert response.status_code == 200


def test_the_browser_session_authenticates_too(alice):
    client = APIClient()
    client.login(username="alice", password="alice-password")
    assert client.get("/api/plots/").status_code == 200
