"""Reading plotserver's settings from the environment: small typed helpers that fail loudly, with
the variable's name, on a value they cannot use (plotserver/settings.py uses them)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: use true or false")


def env_number(name: str, default: float, *, minimum: float, kind: type = float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r}: expected a {kind.__name__}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r}: must be at least {minimum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_site_url(name: str, default: str) -> str:
    """An address a site is reached at: http(s), a host and maybe a port, nothing after them."""
    value = (os.environ.get(name) or default).rstrip("/")
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 (read for its check: a port that is no number raises)
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"{name}={value!r}: give a scheme, a host and a port only, e.g. https://plots.example.com"
        )
    if parts.username is not None or parts.password is not None:
        raise ImproperlyConfigured(f"{name}: give no user or password in the address, only a scheme, a host and a port")
    if parts.hostname in ("0.0.0.0", "::"):
        raise ImproperlyConfigured(
            f"{name}={value!r}: {parts.hostname} is an address to bind, not one to reach: name the host"
            " people reach this server at, e.g. http://myhost.lan:8000"
        )
    return value
