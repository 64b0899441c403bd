"""/api/streams/<id>/runs/ and /api/plots/<id>/runs/: who may list and start runs, what a
listing says of each run, and the 400s of a bad start. (A start that succeeds goes through a
stream's writer: tests/test_runs_live.py.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import StreamToken
from tests.history_data import commit_points, streamed_plot

pytestmark = pytest.mark.django_db


def token_of(plot) -> StreamToken:
    return plot.traces.get().stream_token


@pytest.fixture
def three_runs(alice):
    """alice's public plot (retention forever) whose stream had three runs: 1-2, 3-4, 5-."""
    plot = streamed_plot(alice, retention="forever")
    token = token_of(plot).pk
    commit_points(token, [{"x": 1, "y": 1}, {"x": 2, "y": 2}])
    commit_points(token, [{"run": {"name": "warm"}, "x": 3, "y": 3}, {"x": 4, "y": 4}])
    commit_points(token, [{"run": "new", "x": 5, "y": 5}])
    return plot


def runs_of(response) -> list[tuple]:
    return [(r["number"], r["name"], r["first_seq"], r["last_seq"], r["current"], r["kept"]) for r in response]


def test_the_owner_lists_a_streams_runs_oldest_first(as_alice, three_runs):
    answer = as_alice.get(f"/api/streams/{token_of(three_runs).pk}/runs/").json()
    assert answer["stream"] == token_of(three_runs).pk
    assert runs_of(answer["runs"]) == [
        (1, "", 1, 2, False, True),
        (2, "warm", 3, 4, False, True),
        (3, "", 5, None, True, True),
    ]
    assert answer["runs"][0]["started"] == token_of(three_runs).created.isoformat().replace("+00:00", "Z")


def test_a_stream_that_never_started_a_run_has_run_1(as_alice, alice):
    plot = streamed_plot(alice)
    answer = as_alice.get(f"/api/streams/{token_of(plot).pk}/runs/").json()
    assert runs_of(answer["runs"]) == [(1, "", 1, None, True, True)]


def test_anyone_who_may_see_the_plot_lists_its_runs_by_stream(anonymous, three_runs):
    answer = anonymous.get(f"/api/plots/{three_runs.pk}/runs/").json()
    assert answer["plot"] == three_runs.pk
    assert answer["retention"] == "forever"
    [stream] = answer["streams"]
    assert (stream["stream"], stream["traces"]) == (token_of(three_runs).pk, [0])
    assert [r["number"] for r in stream["runs"]] == [1, 2, 3]


def test_under_window_retention_earlier_runs_are_listed_as_not_kept(as_alice, alice):
    plot = streamed_plot(alice, retention="window")
    commit_points(token_of(plot).pk, [{"x": 1, "y": 1}, {"run": "new", "x": 2, "y": 2}])
    [stream] = as_alice.get(f"/api/plots/{plot.pk}/runs/").json()["streams"]
    assert [(r["number"], r["kept"]) for r in stream["runs"]] == [(1, False), (2, True)]


@pytest.mark.parametrize(
    ("sharing", "who", "key", "expected"),
    [
        ("private", "as_alice", None, 200),
        ("private", "as_bob", None, 404),
        ("private", "anonymous", None, 404),
        ("secret", "anonymous", None, 404),
        ("secret", "anonymous", "right", 200),
        ("public", "as_bob", None, 200),
    ],
)
def test_a_plots_runs_are_readable_as_the_plot_is(request, alice, sharing, who, key, expected):
    plot = streamed_plot(alice, sharing=sharing)
    query = f"?share_key={plot.share_key}" if key else ""
    assert request.getfixturevalue(who).get(f"/api/plots/{plot.pk}/runs/{query}").status_code == expected


def test_only_the_owner_of_the_stream_lists_or_starts_its_runs(as_bob, anonymous, three_runs):
    path = f"/api/streams/{token_of(three_runs).pk}/runs/"
    assert as_bob.get(path).status_code == 404
    assert as_bob.post(path, {}, format="json").status_code == 404
    assert anonymous.get(path).status_code == 401
    assert anonymous.post(path, {}, format="json").status_code == 401
    assert as_bob.get("/api/streams/x/runs/").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "n" * 101}, "name: the name is a string of at most 100 characters"),
        ({"name": 7}, "name: the name is a string of at most 100 characters"),
        ({"title": "x"}, 'name: The body is a JSON object, {"name": "..."}, or empty.'),
        (["new"], 'name: The body is a JSON object, {"name": "..."}, or empty.'),
    ],
)
def test_a_bad_start_is_a_400_naming_the_field(as_alice, three_runs, body, message):
    response = as_alice.post(f"/api/streams/{token_of(three_runs).pk}/runs/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"message": message, "field": "name"}]


def test_a_revoked_stream_starts_no_run(as_alice, three_runs):
    StreamToken.objects.filter(pk=token_of(three_runs).pk).update(revoked=timezone.now() - timedelta(seconds=1))
    response = as_alice.post(f"/api/streams/{token_of(three_runs).pk}/runs/", {}, format="json")
    assert response.status_code == 409
    assert "revoked" in response.json()["message"]
