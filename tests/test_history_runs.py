"""A stream's runs in its stored history: `?run=N` reads exactly that run's points (checked
against the points written, over folded blocks and unfolded rows alike), no block holds two
runs, and retention removes an old run's points like any others."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import HistoryBlock, Plot, Run
from history import folding
from history.folding import fold_history
from history.pruning import prune_history
from tests.history_data import commit_points, stored_rows, streamed_plot, token_of

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def blocks_of_16_points_folded_at_once(settings, monkeypatch):
    monkeypatch.setattr(folding, "BLOCK_POINTS", 16)
    settings.HISTORY_FOLD_AGE = 0


def points(first: int, n: int) -> list[dict]:
    return [{"x": i, "y": round(math.cos(i / 7) * 20 + i % 5, 3)} for i in range(first, first + n)]


def read(client, plot: Plot, query: str) -> dict:
    response = client.get(f"/api/plots/{plot.pk}/traces/0/points/?method=none&max_points=100000&{query}")
    assert response.status_code == 200, response.json()
    return response.json()


def written(lines: list[dict]) -> dict:
    """What a direct computation says a run's points are: the lines' x and y, in order."""
    return {"x": [line["x"] for line in lines], "y": [line["y"] for line in lines]}


@pytest.fixture
def runs_written(alice):
    """A plot whose stream had three runs (a run starting inside a commit, too), some points
    folded into blocks and some still rows: (plot, the lines of each run)."""
    plot = streamed_plot(alice, retention="forever")
    token = token_of(plot)
    one, two, three = points(0, 40), points(100, 37), points(200, 25)
    two[0] = {"run": {"name": "second"}, **two[0]}
    three[0] = {"run": "new", **three[0]}
    commit_points(token, one[:30])
    commit_points(token, one[30:] + two[:20])  # run 2 begins inside this row
    commit_points(token, two[20:])
    fold_history()
    commit_points(token, three)  # rows, not folded yet
    return plot, [one, two, three]


def test_a_read_of_one_run_holds_exactly_its_points(as_alice, runs_written):
    plot, runs = runs_written
    assert HistoryBlock.objects.filter(trace__plot=plot).exists()
    for number, lines in enumerate(runs, start=1):
        answer = read(as_alice, plot, f"run={number}")
        assert answer["run"] == number
        assert answer["points"] == written(lines), number


def test_a_run_read_keeps_the_range_and_downsampling_of_any_read(as_alice, runs_written):
    plot, runs = runs_written
    answer = read(as_alice, plot, "run=2&from=110&to=120")
    assert answer["points"] == written([line for line in runs[1] if 110 <= line["x"] <= 120])
    assert read(as_alice, plot, "run=1&max_points=10&method=minmax")["returned"] <= 10


def test_no_block_holds_points_of_two_runs(runs_written):
    plot, _ = runs_written
    starts = [1, *Run.objects.filter(token_id=token_of(plot)).order_by("number").values_list("first_seq", flat=True)]
    for first_seq, last_seq in HistoryBlock.objects.filter(trace__plot=plot).values_list("first_seq", "last_seq"):
        assert [start for start in starts if first_seq < start <= last_seq] == [], (first_seq, last_seq)


def test_a_read_of_every_run_is_the_whole_history(as_alice, runs_written):
    plot, runs = runs_written
    everything = [line for lines in runs for line in lines]
    assert read(as_alice, plot, "")["points"] == written(everything)


def test_a_run_the_stream_never_had_is_a_400(as_alice, runs_written):
    plot, _ = runs_written
    for query, message in (("run=4", "no run 4"), ("run=0", "a run's number"), ("run=two", "a run's number")):
        response = as_alice.get(f"/api/plots/{plot.pk}/traces/0/points/?{query}")
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "run"
        assert message in response.json()["message"]


def test_a_download_of_one_run_holds_its_points(as_alice, runs_written):
    plot, runs = runs_written
    response = as_alice.get(f"/api/plots/{plot.pk}/traces/0/points/?format=csv&run=2")
    assert response["Content-Disposition"].endswith('-run-2.csv"')
    rows = b"".join(response.streaming_content).decode().splitlines()
    assert [float(row.split(",")[0]) for row in rows[1:]] == [line["x"] for line in runs[1]]


def test_retention_removes_an_old_runs_points_and_the_listing_says_so(as_alice, alice):
    plot = streamed_plot(alice, retention="7d")
    token, now = token_of(plot), timezone.now()
    commit_points(token, points(0, 5), at=now - 10 * DAY)
    commit_points(token, [{"run": "new", **points(10, 1)[0]}, *points(11, 4)], at=now - DAY)
    fold_history(now)
    prune_history(now)
    assert read(as_alice, plot, "run=1")["points"] == {}
    assert read(as_alice, plot, "run=2")["points"] == written(points(10, 5))
    [stream] = as_alice.get(f"/api/plots/{plot.pk}/runs/").json()["streams"]
    assert [(r["number"], r["kept"]) for r in stream["runs"]] == [(1, False), (2, True)]


def test_a_window_plot_reads_only_its_current_run(as_alice, alice):
    plot = streamed_plot(alice, retention="window")
    commit_points(token_of(plot), [*points(0, 3), {"run": "new", **points(5, 1)[0]}])
    assert read(as_alice, plot, "run=1")["points"] == {}
    assert read(as_alice, plot, "run=2")["points"] == written(points(5, 1))


def test_the_history_job_forgets_the_runs_whose_points_are_all_gone(as_alice, alice):
    plot = streamed_plot(alice, retention="7d")
    token, now = token_of(plot), timezone.now()
    commit_points(token, [*points(0, 2), {"run": "new", **points(2, 1)[0]}], at=now - 10 * DAY)
    commit_points(token, [{"run": {"name": "today"}, **points(3, 1)[0]}], at=now - DAY)
    fold_history(now)
    prune_history(now)
    assert list(Run.objects.filter(token_id=token).values_list("number", flat=True)) == [3]
    [stream] = as_alice.get(f"/api/plots/{plot.pk}/runs/").json()["streams"]
    assert [(r["number"], r["name"], r["kept"]) for r in stream["runs"]] == [(3, "today", True)]
    for number in (1, 2):
        response = as_alice.get(f"/api/plots/{plot.pk}/traces/0/points/?run={number}")
        assert response.status_code == 400


def test_a_window_plot_keeps_the_runs_of_its_stored_rows_only(alice):
    plot = streamed_plot(alice, retention="window", maxpoints=2)
    for x in range(60):  # run x + 2 begins with update x + 1
        commit_points(token_of(plot), [{"run": "new", "x": x, "y": x}])
    prune_history()
    oldest = stored_rows(token_of(plot))[0][0]
    assert oldest > 1  # the checkpoints trimmed the older rows
    numbers = list(Run.objects.filter(token_id=token_of(plot)).values_list("number", flat=True))
    assert numbers == list(range(oldest + 1, 62))  # numbering goes on past the forgotten ones
