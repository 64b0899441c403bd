"""StreamToken.status(): one JSON shape and one time format, wherever a token's status shows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from core.models import StreamToken, isostring

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(alice):
    """A token whose stream wrote, failed a line and ended (its lease ran out)."""
    moment = datetime(2026, 11, 28, 10, 0, 1, 250000, tzinfo=UTC)
    return StreamToken.objects.create(
        owner=alice,
        token="status-shape-1",
        connected=True,
        lease_until=moment,
        connected_since=moment - timedelta(minutes=5),
        last_write_at=moment,
        accepted=7,
        rejected=1,
        last_error="x: this attribute cannot be streamed",
        last_error_line=3,
        last_error_at=moment,
        last_seq=7,
    )


def test_times_are_iso_8601_in_utc_with_a_z():
    assert isostring(datetime(2026, 11, 28, 10, 0, 1, 250000, tzinfo=UTC)) == "2026-11-28T10:00:01.250000Z"
    assert isostring(None) is None


def test_the_status_says_what_the_stream_did(token):
    assert token.status() == {
        "connected": False,
        "revoked": None,
        "connected_since": "2026-11-28T09:55:01.250000Z",
        "remote_addr": "",
        "last_write_at": "2026-11-28T10:00:01.250000Z",
        "accepted": 7,
        "rejected": 1,
        "last_error": {
            "line": 3,
            "message": "x: this attribute cannot be streamed",
            "at": "2026-11-28T10:00:01.250000Z",
        },
        "takeovers": 0,
        "last_seq": 7,
    }


def test_the_api_and_the_settings_page_show_the_same_status(token, alice, as_alice):
    api = as_alice.get(f"/api/streams/{token.pk}/").json()
    page = Client()
    page.force_login(alice)
    polled = page.get("/plots/status.json").json()["tokens"][str(token.pk)]
    assert polled == token.status()
    assert {key: api[key] for key in polled} == polled
