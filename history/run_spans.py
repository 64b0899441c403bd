"""A stream's runs: spans of its sequence numbers, listed with whether their points are kept.

Run 1 starts at the stream's first update and has no row; each later run is a Run row written
with its first update (core/models/history.py). A run ends where the next begins; the newest is the
current one. A range read of one run (`?run=N`, history/range_reads.py) takes the points of its
span, and folding never puts two runs in one block (history/folding.py), so that read skips
every other run's blocks whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from core.models import HistoryBlock, Plot, Run, StreamChunk, StreamToken, Trace

# The newest runs a listing shows: older ones are still read by number.
MAX_RUNS_LISTED = 500


@dataclass(frozen=True)
class RunSpan:
    """One run: its updates are those numbered `first_seq` to `last_seq` (None: the current run)."""

    number: int
    name: str
    started: datetime
    first_seq: int
    last_seq: int | None

    def holds(self, seq: int) -> bool:
        return seq >= self.first_seq and (self.last_seq is None or seq <= self.last_seq)


def stream_runs(token: StreamToken, newest: int = MAX_RUNS_LISTED) -> list[RunSpan]:
    """The stream's newest runs still known, oldest first."""
    rows = list(
        Run.objects.filter(token=token)
        .order_by("-number")
        .values_list("number", "name", "started", "first_seq")[:newest]
    )
    rows.reverse()
    if len(rows) < newest and _has_run_1(token.pk):
        rows.insert(0, (1, "", token.created, 1))
    spans = []
    for position, (number, name, started, first_seq) in enumerate(rows):
        after = rows[position + 1][3] - 1 if position + 1 < len(rows) else None
        spans.append(RunSpan(number, name, started, first_seq, after))
    return spans


def _has_run_1(token_id: int) -> bool:
    """Run 1 has no row: it is known while run 2 is, or when no later run started. (The history
    job forgets runs whose points are all gone, history/pruning.py.)"""
    oldest = Run.objects.filter(token_id=token_id).order_by("number").values_list("number", flat=True).first()
    return oldest is None or oldest == 2


def run_span(token_id: int, number: int) -> RunSpan | None:
    """Run `number` of the stream, or None when it has no such run (or it is forgotten)."""
    token = StreamToken.objects.filter(pk=token_id).first()
    if token is None:
        return None
    if number == 1:
        if not _has_run_1(token_id):
            return None
        first = (1, "", token.created)
    else:
        row = Run.objects.filter(token_id=token_id, number=number).values_list("first_seq", "name", "started").first()
        if row is None:
            return None
        first = row
    after = (
        Run.objects.filter(token_id=token_id, number__gt=number).order_by("number").values_list("first_seq", flat=True)
    )
    following = after.first()
    return RunSpan(number, first[1], first[2], first[0], None if following is None else following - 1)


def streams_with_runs() -> list[int]:
    """The streams that started a run since run 1 (the (token, number) index, once a stream)."""
    return list(Run.objects.order_by("token_id").values_list("token_id", flat=True).distinct())


def forget_runs(token_id: int, limit: int) -> int:
    """Remove up to `limit` rows of the stream's runs that ended before the oldest update still
    stored for it (in its rows, or any of its traces' blocks): their points are all gone. The
    current run always stays, so numbering goes on. How many went."""
    oldest = oldest_stored(token_id, list(Trace.objects.filter(stream_token_id=token_id).values_list("pk", flat=True)))
    runs = Run.objects.filter(token_id=token_id)
    if oldest is None:  # nothing stored: only the current run is still anything
        current = runs.order_by("-number").values_list("number", flat=True).first()
    else:
        current = runs.filter(first_seq__lte=oldest).order_by("-number").values_list("number", flat=True).first()
    if current is None:
        return 0
    with transaction.atomic():
        ids = list(runs.filter(number__lt=current).order_by("number").values_list("pk", flat=True)[:limit])
        return Run.objects.filter(pk__in=ids).delete()[0] if ids else 0


def oldest_stored(token_id: int, trace_ids: list[int]) -> int | None:
    """The first update of the oldest history still stored for these traces, in their blocks or
    the stream's rows (None: nothing). The history job removes the oldest first, so every run
    that ends at or after it still has its points (one query per trace and one for the rows,
    through the (trace, last_seq) and (token, last_seq) indexes, however many runs there are)."""
    blocks = HistoryBlock.objects.filter(token_id=token_id).order_by("last_seq").values_list("first_seq", flat=True)
    rows = StreamChunk.objects.filter(token_id=token_id).order_by("last_seq").values_list("first_seq", flat=True)
    seqs = [blocks.filter(trace_id=trace_id).first() for trace_id in trace_ids] + [rows.first()]
    return min((seq for seq in seqs if seq is not None), default=None)


def run_answer(span: RunSpan, kept: bool) -> dict:
    """A run as the API shows it (docs/api.md, "Runs")."""
    return {
        "number": span.number,
        "name": span.name,
        "started": span.started,
        "first_seq": span.first_seq,
        "last_seq": span.last_seq,
        "current": span.last_seq is None,
        "kept": kept,
    }


def listed_runs(token: StreamToken, traces: list[Trace]) -> list[dict]:
    """The stream's runs as these traces show them: an earlier run is kept when one of the
    traces' plots keeps more than its window and its points are still stored; the current
    run always is (the live window holds it)."""
    shown = Trace.objects.keeping_history().filter(pk__in=[t.pk for t in traces])
    keeping = list(shown.values_list("pk", flat=True))
    oldest = oldest_stored(token.pk, keeping) if keeping else None
    return [
        run_answer(span, span.last_seq is None or (oldest is not None and span.last_seq >= oldest))
        for span in stream_runs(token)
    ]


def plot_runs(plot: Plot) -> list[dict]:
    """The runs of each stream that feeds the plot, with the indexes of the traces it feeds."""
    by_token: dict[int, list[Trace]] = {}
    for trace in (
        plot.traces.filter(stream_token__isnull=False).select_related("plot", "stream_token").order_by("index")
    ):
        by_token.setdefault(trace.stream_token_id or 0, []).append(trace)
    answer = []
    for traces in by_token.values():
        token = traces[0].stream_token
        assert token is not None
        answer.append({"stream": token.pk, "traces": [t.index for t in traces], "runs": listed_runs(token, traces)})
    return answer
