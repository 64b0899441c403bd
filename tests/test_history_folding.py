"""The history job folds checkpointed stream rows into blocks of packed columns: every point
exactly once and in order, range reads over blocks and the rows not folded yet equal to a
direct computation, retention removing whole blocks and nothing else, text kept as sent."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from tsdownsample import LTTBDownsampler

from core.models import HistoryBlock, Plot, Trace
from history import folding
from history.columns import Columns, as_list
from history.folding import FoldConflict, fold_history
from history.folding import _write as write_blocks
from history.pruning import prune_history
from history.range_reads import history_pages, read_range
from tests.history_data import commit_points, stored_rows, streamed_plot

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def small_blocks(settings, monkeypatch):
    monkeypatch.setattr(folding, "BLOCK_POINTS", 16)
    settings.HISTORY_FOLD_AGE = 3600


def wave(first: int, n: int) -> list[dict]:
    return [{"x": i, "y": round(math.sin(i / 5) * 50 + i % 3, 2)} for i in range(first, first + n)]


def token_of(plot: Plot) -> int:
    return plot.traces.get().stream_token_id


def history(plot: Plot, start=None, end=None) -> dict:
    columns, _ = read_range(Trace.objects.select_related("plot").get(plot=plot), start, end, 100_000)
    return {path: as_list(column) for path, column in columns.values.items()}


def blocks(plot: Plot) -> list[tuple[int, int]]:
    return list(
        HistoryBlock.objects.filter(trace__plot=plot).order_by("last_seq", "pk").values_list("count", "last_seq")
    )


def test_folding_keeps_every_point_once_in_order_and_leaves_a_partial_block_to_the_rows(alice):
    plot = streamed_plot(alice)
    for first in range(0, 70, 7):  # ten rows of seven points
        commit_points(token_of(plot), wave(first, 7))
    assert fold_history() == 63  # whole rows until a block is full: 21 + 21 + 21
    assert [count for count, _ in blocks(plot)] == [16, 5, 16, 5, 16, 5]
    assert fold_history() == 0  # seven points wait for more (or for HISTORY_FOLD_AGE)
    assert history(plot) == {"x": list(range(70)), "y": [p["y"] for p in wave(0, 70)]}


def test_folded_rows_are_removed_and_the_history_reads_the_same(alice):
    plot = streamed_plot(alice)
    for first in range(0, 40, 10):
        commit_points(token_of(plot), wave(first, 10))
    fold_history()
    assert prune_history() == 0  # a pass after they were folded, not the same one
    assert prune_history() == 4  # the rows every block holds
    assert stored_rows(token_of(plot)) == []
    assert history(plot)["x"] == list(range(40))


def test_rows_older_than_the_fold_age_are_folded_into_a_short_block(alice, settings):
    plot = streamed_plot(alice)
    commit_points(token_of(plot), wave(0, 5), at=timezone.now() - timedelta(hours=2))
    assert fold_history() == 5
    assert blocks(plot) == [(5, 5)]


def test_only_checkpointed_rows_are_folded(alice):
    plot = streamed_plot(alice)
    commit_points(token_of(plot), wave(0, 20))
    commit_points(token_of(plot), wave(20, 20), checkpoint=False)
    assert fold_history() == 20
    assert history(plot)["x"] == list(range(40))


def test_range_reads_across_blocks_and_rows_equal_a_direct_computation(anonymous, alice):
    plot = streamed_plot(alice)
    points = wave(0, 300)
    for first in range(0, 300, 30):
        commit_points(token_of(plot), points[first : first + 30])
    fold_history()
    commit_points(token_of(plot), [{"x": 300, "y": 1.5}])  # a row not folded yet
    points.append({"x": 300, "y": 1.5})
    assert HistoryBlock.objects.filter(trace__plot=plot).count() > 5
    base = f"/api/plots/{plot.pk}/traces/0/points/"
    answer = anonymous.get(f"{base}?from=17&to=300&method=none&max_points=1000").json()
    assert answer["points"] == {"x": list(range(17, 301)), "y": [p["y"] for p in points[17:]]}
    answer = anonymous.get(f"{base}?from=40&to=300&method=lttb&max_points=30").json()
    expected = points[40:]
    x = np.array([p["x"] for p in expected], dtype=np.float64)
    y = np.array([p["y"] for p in expected], dtype=np.float64)
    picked = LTTBDownsampler().downsample(x, y, n_out=30)
    assert answer["points"]["x"] == [expected[i]["x"] for i in picked]
    assert answer["points"]["y"] == [expected[i]["y"] for i in picked]
    assert answer["total"] == len(expected)
    empty = anonymous.get(f"{base}?from=5000&method=none").json()
    assert (empty["total"], empty["points"]) == (0, {"x": [], "y": []})


def test_a_duration_removes_whole_blocks_and_nothing_else(alice):
    plot = streamed_plot(alice, retention="7d")
    now = timezone.now()
    for first, age in ((0, 10), (16, 9), (32, 1)):
        commit_points(token_of(plot), wave(first, 16), at=now - age * DAY)
    commit_points(token_of(plot), wave(48, 3), at=now)  # rows not folded: kept
    fold_history(now)
    assert prune_history(now) == 2 + 2  # two blocks, and the two rows the rule lets go anyway
    assert prune_history(now) == 1  # the third folded row, a pass after it was folded
    assert len(stored_rows(token_of(plot))) == 1  # the row not folded yet
    assert history(plot)["x"] == list(range(32, 51))


def test_a_point_count_removes_the_blocks_of_older_lines_only(alice):
    plot = streamed_plot(alice, retention="40 points")
    for first in range(0, 64, 16):
        commit_points(token_of(plot), wave(first, 16))
    fold_history()
    prune_history()
    # lines 1-24 are older than the newest 40: the block of lines 1-16 goes whole, the
    # block of lines 17-32 stays whole (it holds lines among the newest 40)
    assert history(plot)["x"] == list(range(16, 64))


def test_a_trace_with_text_y_dates_and_mixed_numbers_reads_as_sent(anonymous, alice):
    plot = streamed_plot(alice)
    sent = [
        {"x": "2026-11-28 00:00:00", "y": "high", "text": "a"},
        {"x": "2026-11-28 00:00:01", "y": 2},
        {"x": "2026-11-28 00:00:02", "y": 2.5, "text": "c"},
        {"x": "2026-11-28T00:00:03Z", "y": None},
    ] * 5
    commit_points(token_of(plot), sent)
    numbers = streamed_plot(alice)
    commit_points(token_of(numbers), [{"x": i, "y": i if i % 2 else i + 0.5} for i in range(20)])
    before = (history(plot), history(numbers))
    assert fold_history() == 40
    assert (history(plot), history(numbers)) == before
    assert history(plot)["y"] == [p.get("y") for p in sent]
    assert history(plot)["text"] == [p.get("text") for p in sent]
    answer = anonymous.get(f"/api/plots/{plot.pk}/traces/0/points/?from=2026-11-28T00:00:01&method=none").json()
    assert answer["points"]["x"] == (  # ordered by x, as every answer
        # (A date with an offset is kept as the UTC wall clock of its instant: core/instants.py.)
        ["2026-11-28 00:00:01"] * 5 + ["2026-11-28 00:00:02"] * 5 + ["2026-11-28T00:00:03"] * 5
    )


def test_dates_in_one_spelling_are_packed_and_come_back_in_it(anonymous, alice):
    plot = streamed_plot(alice)
    sent = [f"2026-11-28 00:{m:02d}:00.250" for m in range(20)]
    commit_points(token_of(plot), [{"x": x, "y": i} for i, x in enumerate(sent)])
    fold_history()
    assert not HistoryBlock.objects.filter(trace__plot=plot, x__isnull=True).exists()
    answer = anonymous.get(f"/api/plots/{plot.pk}/traces/0/points/?from=2026-11-28T00:05&method=none").json()
    assert answer["points"]["x"] == sent[5:]


def test_a_download_under_way_while_rows_are_folded_and_removed_reads_every_point_once(alice):
    plot = streamed_plot(alice)
    for first in range(0, 48, 16):
        commit_points(token_of(plot), wave(first, 16))
    fold_history()
    pages = history_pages(Trace.objects.select_related("plot").get(plot=plot))
    read = next(pages).values["x"]
    for first in range(48, 80, 16):
        commit_points(token_of(plot), wave(first, 16))
    fold_history()
    prune_history()
    prune_history()
    assert stored_rows(token_of(plot)) == []  # what the download had not reached is in blocks now
    for page in pages:
        read += page.values.get("x", [])  # (the rows after the blocks: none)
    assert read == list(range(80))


def test_a_fold_that_another_process_overtook_writes_nothing(alice):
    plot = streamed_plot(alice)
    commit_points(token_of(plot), wave(0, 16))
    trace = Trace.objects.get(plot=plot)
    fold_history()
    stale = Columns({"x": [0], "y": [0.0]}, 1)
    with pytest.raises(FoldConflict):  # the mark moved past 0 meanwhile
        write_blocks(trace, token_of(plot), 0, 1, 1, timezone.now(), stale)
    assert blocks(plot) == [(16, 16)]  # the one fold that happened
    assert history(plot)["x"] == list(range(16))


def test_a_trace_moved_to_another_stream_reads_that_streams_history(alice):
    plot = streamed_plot(alice)
    commit_points(token_of(plot), wave(0, 16))
    fold_history()
    other = streamed_plot(alice)
    trace = Trace.objects.get(plot=plot)
    trace.stream_token_id = token_of(other)
    trace.save()
    commit_points(token_of(other), wave(100, 16))
    fold_history()
    fold_history()
    assert history(plot)["x"] == list(range(100, 116))
    kept = HistoryBlock.objects.filter(trace=trace).values_list("token_id", flat=True)
    assert set(kept) == {token_of(other)}  # the old stream's blocks went
