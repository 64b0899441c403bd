"""Retention: what each plot's rule keeps of its streams' stored rows, and that the pruning job
removes exactly the rest (the oldest rows of those streams) and nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import Plot, Trace
from history.columns import as_list
from history.pruning import prune_history
from history.range_reads import read_range
from tests.history_data import commit_points, stored_rows, streamed_plot

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def token_of(plot: Plot) -> int:
    return plot.traces.get().stream_token_id


def history_x(plot: Plot) -> list:
    columns, _ = read_range(Trace.objects.select_related("plot").get(plot=plot), None, None, 10_000)
    return as_list(columns.values["x"])


def test_a_duration_keeps_the_rows_younger_than_it_and_removes_the_older_ones(alice):
    plot = streamed_plot(alice, retention="7d")
    now = timezone.now()
    for x, age in enumerate((10, 8, 6, 1)):
        commit_points(token_of(plot), [{"x": x, "y": x}], at=now - age * DAY)
    assert prune_history(now) == 2
    assert stored_rows(token_of(plot)) == [(3, 3), (4, 4)]
    assert history_x(plot) == [2, 3]


def test_a_point_count_keeps_the_newest_lines_of_the_stream(alice):
    plot = streamed_plot(alice, retention="4 points")
    for x in range(10):
        commit_points(token_of(plot), [{"x": x, "y": x}])
    assert prune_history() == 6
    assert history_x(plot) == [6, 7, 8, 9]


def test_forever_keeps_everything(alice):
    plot = streamed_plot(alice, retention="forever")
    now = timezone.now()
    for x in range(5):
        commit_points(token_of(plot), [{"x": x, "y": x}], at=now - (400 - x) * DAY)
    assert prune_history(now) == 0
    assert history_x(plot) == [0, 1, 2, 3, 4]


def test_a_window_plot_is_still_trimmed_by_its_checkpoints_while_a_longer_retention_is_not(alice):
    window, kept = (
        streamed_plot(alice, retention="window", maxpoints=2),
        streamed_plot(alice, retention="1d", maxpoints=2),
    )
    for x in range(40):
        commit_points(token_of(window), [{"x": x, "y": x}])
        commit_points(token_of(kept), [{"x": x, "y": x}])
    assert len(stored_rows(token_of(window))) < 40
    assert len(stored_rows(token_of(kept))) == 40
    assert history_x(window) == [38, 39]  # a window plot's history is its window
    assert history_x(kept) == list(range(40))


def test_a_stream_shown_by_two_plots_keeps_what_the_longer_retention_keeps(alice):
    short = streamed_plot(alice, retention="1d")
    long = Plot.objects.create(owner=alice, retention="7d")
    Trace.objects.create(plot=long, index=0, spec={"x": [], "y": []}, stream_token_id=token_of(short))
    now = timezone.now()
    for x, age in enumerate((9, 3, 0)):
        commit_points(token_of(short), [{"x": x, "y": x}], at=now - age * DAY)
    assert prune_history(now) == 1
    assert history_x(short) == history_x(long) == [1, 2]


def test_rows_no_checkpoint_holds_yet_are_never_removed(alice):
    plot = streamed_plot(alice, retention="1d")
    now = timezone.now()
    commit_points(token_of(plot), [{"x": 0, "y": 0}], at=now - 5 * DAY, checkpoint=False)
    assert prune_history(now) == 0
    assert history_x(plot) == [0]


def test_pruning_touches_no_other_stream(alice):
    pruned, window, forever = (streamed_plot(alice, retention=r) for r in ("1d", "window", "forever"))
    now = timezone.now()
    for plot in (pruned, window, forever):
        for age in (5, 4, 0):
            commit_points(token_of(plot), [{"x": age, "y": 0}], at=now - age * DAY, checkpoint=False)
    before = {plot.pk: stored_rows(token_of(plot)) for plot in (window, forever)}
    commit_points(token_of(pruned), [], at=now)  # its checkpoint
    assert prune_history(now) == 2
    assert {plot.pk: stored_rows(token_of(plot)) for plot in (window, forever)} == before


def test_the_rows_go_in_batches_oldest_first_until_none_is_left(alice):
    plot = streamed_plot(alice, retention="1h")
    now = timezone.now()
    for x in range(7):
        commit_points(token_of(plot), [{"x": x, "y": x}], at=now - timedelta(hours=10 - x))
    commit_points(token_of(plot), [{"x": 7, "y": 7}], at=now)
    assert prune_history(now, limit=2) == 7
    assert history_x(plot) == [7]
