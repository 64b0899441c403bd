"""A trace's history is readable by exactly those who may see its plot: the owner, anyone for
a public plot, the holder of a secret plot's share key; 404 for everyone else, downloads too."""

from __future__ import annotations

import pytest

from tests.history_data import commit_points, streamed_plot

pytestmark = pytest.mark.django_db

PATHS = ("", "?format=csv", "?format=ndjson")


@pytest.fixture
def plots(alice):
    made = {sharing: streamed_plot(alice, sharing=sharing) for sharing in ("public", "private", "secret")}
    for plot in made.values():
        commit_points(plot.traces.get().stream_token_id, [{"x": 1, "y": 2}])
    return made


def status(client, plot, query: str = "") -> int:
    return client.get(f"/api/plots/{plot.pk}/traces/0/points/{query}").status_code


@pytest.mark.parametrize(
    ("who", "sharing", "key", "expected"),
    [
        ("as_alice", "public", None, 200),
        ("as_alice", "private", None, 200),
        ("as_alice", "secret", None, 200),
        ("as_bob", "public", None, 200),
        ("as_bob", "private", None, 404),
        ("as_bob", "secret", None, 404),
        ("as_bob", "secret", "right", 200),
        ("as_bob", "secret", "wrong", 404),
        ("anonymous", "public", None, 200),
        ("anonymous", "private", None, 404),
        ("anonymous", "private", "right", 404),
        ("anonymous", "secret", None, 404),
        ("anonymous", "secret", "right", 200),
        ("anonymous", "secret", "wrong", 404),
    ],
)
def test_who_may_read_a_traces_history(request, plots, who, sharing, key, expected):
    client, plot = request.getfixturevalue(who), plots[sharing]
    share_key = {"right": plot.share_key, "wrong": "not-the-key"}.get(key)
    for query in PATHS:
        joined = f"{query}{'&' if query else '?'}share_key={share_key}" if share_key else query
        assert status(client, plot, joined) == expected, (query, joined)


def test_a_rotated_share_key_no_longer_reads_the_history(anonymous, plots):
    plot = plots["secret"]
    old = plot.share_key
    plot.rotate_share_key()
    assert status(anonymous, plot, f"?share_key={old}") == 404
    assert status(anonymous, plot, f"?share_key={plot.share_key}") == 200


def test_a_plot_or_trace_that_does_not_exist_is_404(anonymous, plots):
    assert anonymous.get("/api/plots/999999/traces/0/points/").status_code == 404
    assert anonymous.get(f"/api/plots/{plots['public'].pk}/traces/1/points/").status_code == 404
