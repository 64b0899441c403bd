"""PUBLIC_URL, the address Plotly's doors name in their answers: a scheme, a host, maybe a port."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from plotserver.environment import env_site_url


@pytest.mark.parametrize(
    "value", ["https://plots.example.com", "http://127.0.0.1:8000", "http://[::1]:8080", "https://plots.example.com/"]
)
def test_a_scheme_a_host_and_a_port_are_taken(monkeypatch, value):
    monkeypatch.setenv("PUBLIC_URL", value)
    assert env_site_url("PUBLIC_URL", "http://127.0.0.1:8000") == value.rstrip("/")


def test_unset_it_is_the_default(monkeypatch):
    monkeypatch.delenv("PUBLIC_URL", raising=False)
    assert env_site_url("PUBLIC_URL", "http://127.0.0.1:8000") == "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    "value",
    ["plots.example.com", "ftp://plots.example.com", "https://plots.example.com/plots", "http://h:port", "https://"],
)
def test_anything_else_stops_the_server_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("PUBLIC_URL", value)
    with pytest.raises(ImproperlyConfigured, match=r"PUBLIC_URL=.*scheme, a host and a port only"):
        env_site_url("PUBLIC_URL", "http://127.0.0.1:8000")


@pytest.mark.parametrize("value", ["https://user:secret@plots.example.com", "https://user@plots.example.com"])
def test_a_user_or_password_in_it_stops_the_server(monkeypatch, value):
    monkeypatch.setenv("PUBLIC_URL", value)
    with pytest.raises(ImproperlyConfigured, match="no user or password"):
        env_site_url("PUBLIC_URL", "http://127.0.0.1:8000")


@pytest.mark.parametrize("value", ["http://0.0.0.0:8000", "http://[::]:8000"])
def test_an_address_to_bind_is_not_one_to_reach(monkeypatch, value):
    monkeypatch.setenv("PUBLIC_URL", value)
    with pytest.raises(ImproperlyConfigured, match="an address to bind, not one to reach"):
        env_site_url("PUBLIC_URL", "http://127.0.0.1:8000")
