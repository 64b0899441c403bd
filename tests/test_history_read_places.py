"""A history read's place in its process goes back however the read ends: a read answered, a
download read to its end, and a download let go unread (its client gone, its response dropped)."""

from __future__ import annotations

import gc

import pytest

from history import admission
from tests.history_data import commit_points, streamed_plot, token_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def plot(alice, settings):
    settings.HISTORY_READS_PER_PROCESS = 1
    plot = streamed_plot(alice, retention="forever")
    commit_points(token_of(plot), [{"x": i, "y": i} for i in range(5)])
    return plot


def points(client, plot, query: str = ""):
    return client.get(f"/api/plots/{plot.pk}/traces/0/points/{query}")


def test_a_read_answered_gives_its_place_back(anonymous, plot):
    assert [points(anonymous, plot).status_code for _ in range(3)] == [200, 200, 200]
    assert admission.PLACES.taken == 0


def test_a_download_read_to_its_end_gives_its_place_back(anonymous, plot):
    response = points(anonymous, plot, "?format=csv")
    assert admission.PLACES.taken == 1
    b"".join(response.streaming_content)
    assert admission.PLACES.taken == 0


def test_a_download_let_go_unread_gives_its_place_back(anonymous, plot):
    response = points(anonymous, plot, "?format=ndjson")
    assert (response.status_code, admission.PLACES.taken) == (200, 1)
    assert points(anonymous, plot).status_code == 503
    del response
    gc.collect()
    assert admission.PLACES.taken == 0
    assert points(anonymous, plot).status_code == 200


def test_a_refused_read_says_when_to_try_again(anonymous, plot):
    held = points(anonymous, plot, "?format=csv")
    refused = points(anonymous, plot)
    assert (refused.status_code, refused["Retry-After"]) == (503, str(admission.RETRY_AFTER))
    assert "HISTORY_READS_PER_PROCESS" in refused.json()["message"]
    b"".join(held.streaming_content)
