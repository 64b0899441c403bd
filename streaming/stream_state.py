"""What the writer of one token's stream holds in memory: its sequence number and its windows.

The process that holds a token's stream is its only writer (streaming/leases.py), so it numbers
each accepted update itself, applies it to the windows of the token's traces, and hands the
viewer deltas on at once; what it accepted waits in a Chunk for the next commit
(streaming/store.py). Pure: no I/O, no clock.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from core.annotation_drawing import AnnotationData
from core.annotation_fields import AnnotationInvalid, check_room
from core.figure_schema import check_layout_size, trace_bytes_limit
from core.protocol import ANNOTATION_KEY, LineRejected, Update
from core.window import apply_delta, merge_layout
from streaming.events import StreamUpdate
from streaming.window_weight import WindowWeight


@dataclass(slots=True)
class LiveTrace:
    """One trace of the stream: where it is, its current window, and that window's weight
    against its share of PLOT_DATA_MAX_BYTES (its plot has `plot_traces` traces)."""

    pk: int
    plot_id: int
    index: int
    maxpoints: int
    spec: dict[str, Any]
    plot_traces: int = 1
    _weight: WindowWeight | None = field(default=None, init=False, repr=False)

    @property
    def weight(self) -> WindowWeight:
        """Weighed when the writer first needs it: a checkpoint's view that no writer takes
        costs no encoding."""
        if self._weight is None:
            self._weight = WindowWeight(self.spec, trace_bytes_limit(self.plot_traces))
        return self._weight


# What a writer's view of its traces was made from; a commit compares it with the database
# to notice an edit (REST, pages, admin) of the token's traces or plots.
Signature = tuple[tuple[int, int, int, int, int], ...]


def signature_of(rows: Iterable[tuple[int, int, int, int, int]]) -> Signature:
    """From (trace id, plot id, index, maxpoints, plot revision) rows."""
    return tuple(sorted(rows))


@dataclass(slots=True)
class StreamAnnotation:
    """An annotation a line made on one plot, placed at its x: stored by the commit that stores
    the line (`stored` is then what viewers are told)."""

    plot_id: int
    seq: int
    fields: dict[str, Any]
    stored: AnnotationData | None = None


@dataclass
class Chunk:
    """What one stream accepted and rejected since its last commit: one StreamChunk row."""

    token_id: int
    signature: Signature = ()
    first_seq: int = 0
    last_seq: int = 0
    plots: dict[int, dict[str, Any]] = field(default_factory=dict)
    layouts: list[dict[str, Any]] = field(default_factory=list)
    values: int = 0
    accepted: int = 0
    rejected: int = 0
    last_error: tuple[int | None, str, datetime] | None = None
    last_write_at: datetime | None = None
    checkpoint: bool = False
    runs: list[tuple[int, int, str]] = field(default_factory=list)  # (number, first seq, name)
    annotations: list[StreamAnnotation] = field(default_factory=list)
    # Each plot's annotations as a checkpoint of this chunk counted them (store.commit_chunks):
    # the writer's counts from then on (StreamWriter.recount).
    annotation_counts: dict[int, int] | None = None
    # The resume mark the commit stores with the token's counts (streaming/resume.py): the
    # producer's stream id ("" for none) and the number of the last line this chunk covers.
    resume_stream: str = ""
    resume_line: int = 0

    def updates(self) -> list[tuple[int, StreamUpdate]]:
        """Every (plot id, update) of the chunk, in sequence order within each plot."""
        return [(plot_id, u) for plot_id, entry in self.plots.items() for u in entry["updates"]]

    def rows(self, max_updates: int) -> list[tuple[int, int, dict[int, dict[str, Any]], int]]:
        """The stored rows of the chunk's updates, (first seq, last seq, plots, values), each of
        at most `max_updates` updates, so that a reader of a page of rows holds a bounded number
        of points however fast the stream (one row for most chunks). The chunk's values (what
        catch-up budgets count) are shared by the rows in proportion to their updates."""
        if self.last_seq - self.first_seq < max_updates:
            return [(self.first_seq, self.last_seq, self.plots, self.values)]
        rows = []
        total = self.last_seq - self.first_seq + 1
        shared = 0
        for first in range(self.first_seq, self.last_seq + 1, max_updates):
            last = min(first + max_updates - 1, self.last_seq)
            plots = {}
            for plot_id, entry in self.plots.items():
                updates = entry["updates"]  # in sequence order
                start = bisect_left(updates, first, key=_seq)
                end = bisect_right(updates, last, lo=start, key=_seq)
                if end > start:
                    plots[plot_id] = {**entry, "updates": updates[start:end]}
            values = self.values * (last - self.first_seq + 1) // total - shared
            shared += values
            rows.append((first, last, plots, values))
        return rows

    def split(self) -> list[Chunk]:
        """One chunk per update, then one with the counts: how a chunk the database refused
        is stored piece by piece, so that a bad value costs its own line alone."""
        pieces = []
        for seq in range(self.first_seq, self.last_seq + 1) if self.first_seq else ():
            piece = Chunk(self.token_id, self.signature, seq, seq, accepted=1)
            for plot_id, entry in self.plots.items():
                updates = [u for u in entry["updates"] if u["seq"] == seq]
                if updates:
                    piece.plots[plot_id] = {**entry, "updates": updates}
            piece.layouts = [u["layout"] for _, u in piece.updates()[:1] if "layout" in u]
            piece.values = sum(values_in(u) for _, u in piece.updates())
            piece.runs = [run for run in self.runs if run[1] == seq]
            piece.annotations = [a for a in self.annotations if a.seq == seq]
            pieces.append(piece)
        counts = Chunk(
            self.token_id,
            self.signature,
            rejected=self.rejected,
            last_error=self.last_error,
            last_write_at=self.last_write_at,
            checkpoint=self.checkpoint,
            resume_stream=self.resume_stream,
            resume_line=self.resume_line,
        )
        return [*pieces, counts]


@dataclass(slots=True)
class WriterView:
    """What a writer knows of the stored stream, as a commit or a load reads it: its traces'
    windows, its plots' revisions and layouts, and the signature that tells when they went stale."""

    traces: list[LiveTrace]
    revisions: dict[int, int]
    signature: Signature
    # Each plot's layout as it will be stored, to refuse a line that would grow one past
    # PLOT_LAYOUT_MAX_BYTES before it is numbered.
    layouts: dict[int, dict[str, Any]] = field(default_factory=dict)
    # How many annotations each plot holds, to refuse a line past ANNOTATIONS_PER_PLOT.
    annotation_counts: dict[int, int] = field(default_factory=dict)


class StreamWriter:
    """The in-memory writer of one token's stream."""

    def __init__(
        self, token_id: int, seq: int, view: WriterView, run: int = 1, resume: tuple[str, int] = ("", 0)
    ) -> None:
        self.token_id = token_id
        self.seq = seq
        self.run = run  # the number of the stream's current run
        # The resume mark as stored when the writer was loaded, then as the producer's lines
        # move it (streaming/resume.py): each chunk carries it to its commit.
        self.resume_stream, self.resume_line = resume
        self.committed_seq = seq
        self.pending: Chunk | None = None
        self.closing = False
        self.load(view)

    def load(self, view: WriterView) -> None:
        """Take fresh windows and layouts (after an edit of the traces or plots, or a refused update)."""
        traces = view.traces
        self.traces = traces
        self.revisions = view.revisions
        self.signature = view.signature
        self.layouts = view.layouts
        self.annotation_counts = view.annotation_counts
        by_plot: dict[int, list[LiveTrace]] = {}
        for trace in traces:
            by_plot.setdefault(trace.plot_id, []).append(trace)
        # (plot id, [(trace key, trace, its weight)]): what accept walks, weighed as it is taken.
        self.by_plot = [(plot_id, [(str(t.index), t, t.weight) for t in group]) for plot_id, group in by_plot.items()]

    def _chunk(self) -> Chunk:
        if self.pending is None:
            self.pending = Chunk(self.token_id, self.signature)
        return self.pending

    def accept(self, update: Update) -> list[tuple[int, StreamUpdate]]:
        """Number the update, apply it to the windows; return each plot's StreamUpdate.
        LineRejected, before anything changes, for a layout change that would make a plot's
        layout larger than PLOT_LAYOUT_MAX_BYTES, points that would make a window heavier
        than its share of PLOT_DATA_MAX_BYTES, or an annotation with no x to stand at. An
        annotation on a plot holding ANNOTATIONS_PER_PLOT already is left out there, the rest of
        the line kept (the chunk's last_error says so)."""
        totals = [
            weight.check(trace.spec, update, trace.maxpoints, plot_id, key)
            for plot_id, traces in self.by_plot
            for key, trace, weight in traces
        ]
        placed, full = self._placed(update) if update.annotation is not None else ([], [])
        if update.layout:
            self.layouts = self._grown_layouts(update.layout)
        self.seq += 1
        seq = self.seq
        chunk = self._chunk()
        if not chunk.first_seq:
            chunk.first_seq = seq
        chunk.last_seq = seq
        chunk.accepted += 1
        if update.run is not None:
            self.run += 1
            chunk.runs.append((self.run, seq, update.run))
        out = []
        values = 0
        at = 0
        for plot_id, traces in self.by_plot:
            deltas: dict[str, Any] = {}
            for key, trace, weight in traces:
                deltas[key] = weight.apply(trace.spec, update, trace.maxpoints, totals[at])
                at += 1
            values += _update_values(update) * len(traces)
            message: StreamUpdate = {"stream": self.token_id, "seq": seq, "traces": deltas}
            if update.layout:
                message["layout"] = update.layout
            if update.run is not None:
                message["run"] = {"number": self.run, "name": update.run}
            entry = chunk.plots.get(plot_id)
            if entry is None:
                entry = chunk.plots[plot_id] = {
                    "revision": self.revisions.get(plot_id, 0),
                    "traces": {key: trace.pk for key, trace, _ in traces},
                    "updates": [],
                }
            entry["updates"].append(message)
            out.append((plot_id, message))
        if update.layout:
            chunk.layouts.append(update.layout)
            values += len(update.layout)
        for plot_id, fields in placed:
            chunk.annotations.append(StreamAnnotation(plot_id, seq, fields))
            self.annotation_counts[plot_id] = self.annotation_counts.get(plot_id, 0) + 1
        if full:
            # The line is stored, its annotation is not on these plots: said in the token's status.
            note = f"{ANNOTATION_KEY} of the update numbered {seq} left out, the rest of its line stored: {full[0]}"
            chunk.last_error = (None, note, timezone.now())
        chunk.values += values
        return out

    def recount(self, counts: dict[int, int]) -> None:
        """Each plot's annotations as a checkpoint just counted them (annotations deleted through
        the API or by retention free their places), plus those accepted since it began."""
        counts = dict(counts)
        if self.pending is not None:
            for annotation in self.pending.annotations:
                counts[annotation.plot_id] = counts.get(annotation.plot_id, 0) + 1
        self.annotation_counts = counts

    def _placed(self, update: Update) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
        """The annotation of a line on each of the stream's plots, at its own x or else at the
        stream's current x there (the line's own x, or its first trace's newest); and why it is
        not placed on the plots that hold ANNOTATIONS_PER_PLOT already (their points are kept)."""
        assert update.annotation is not None
        annotation = update.annotation
        own = _newest(update.trace.get("x"))
        placed = []
        full = []
        for plot_id, traces in self.by_plot:
            try:
                check_room(plot_id, 1, self.annotation_counts.get(plot_id, 0))
            except AnnotationInvalid as exc:
                full.append(str(exc))
                continue
            fields = dict(annotation)
            if "x" not in fields:
                x = own if own is not None else _newest(traces[0][1].spec.get("x")) if traces else None
                if x is None:
                    raise LineRejected(
                        f"{ANNOTATION_KEY}: the stream has no x yet to place it at: send it on a line with an x, "
                        'or give it one ({"text": ..., "x": ...})'
                    )
                fields["x"] = x
            placed.append((plot_id, fields))
        return placed, full

    def _grown_layouts(self, change: dict[str, object]) -> dict[int, dict[str, Any]]:
        grown = dict(self.layouts)
        for plot_id, _ in self.by_plot:
            layout = merge_layout(copy.deepcopy(self.layouts.get(plot_id, {})), change)
            if problems := check_layout_size(layout):
                raise LineRejected(f"plot {plot_id}: {problems[0].message}")
            grown[plot_id] = layout
        return grown

    def reject(self, line: int, reason: str, at: datetime) -> None:
        chunk = self._chunk()
        chunk.rejected += 1
        chunk.last_error = (line, reason, at)

    def take_chunk(self, now: datetime) -> Chunk | None:
        """Hand the pending chunk to a commit (a closing stream always has one: its checkpoint)."""
        chunk, self.pending = self.pending, None
        if chunk is None and self.closing:
            chunk = Chunk(self.token_id, self.signature)
        if chunk is not None:
            chunk.last_write_at = now if chunk.accepted or chunk.rejected else None
            chunk.checkpoint = chunk.checkpoint or self.closing
            # Every line counted so far is in this chunk or an earlier one (or was skipped).
            chunk.resume_stream, chunk.resume_line = self.resume_stream, self.resume_line
        return chunk

    def reload(self, view: WriterView) -> None:
        """Take the windows and layouts a commit read back, then replay onto them what was
        accepted since that commit began (its deltas and layout changes, as they will be stored)."""
        by_pk = {t.pk: t for t in view.traces}
        if self.pending is not None:
            for annotation in self.pending.annotations:
                counts = view.annotation_counts
                counts[annotation.plot_id] = counts.get(annotation.plot_id, 0) + 1
            for change in self.pending.layouts:
                for layout in view.layouts.values():
                    merge_layout(layout, change)
            for plot_id, entry in self.pending.plots.items():
                for key, pk in entry["traces"].items():
                    trace = by_pk.get(pk)
                    if trace is None or trace.plot_id != plot_id:
                        continue
                    replayed = False
                    for update in entry["updates"]:
                        delta = update["traces"].get(key)
                        if delta:
                            apply_delta(trace.spec, delta, trace.maxpoints)
                            replayed = True
                    if replayed:
                        trace.weight.measure(trace.spec)
        self.load(view)


def _newest(x: object) -> object:
    """The newest x a value (a point's, or an array of them) holds; None when it has none."""
    if isinstance(x, list):
        x = x[-1] if x else None
    return x if isinstance(x, (int, float, str)) and not isinstance(x, bool) else None


def _seq(update: StreamUpdate) -> int:
    return update["seq"]


def _delta_values(delta: Mapping[str, Any]) -> int:
    # Point values nest at most one array deep (protocol.MAX_DEPTH): no recursion needed.
    count = 0
    for kind, part in delta.items():
        if kind == "clear":
            continue
        for value in part.values():
            if isinstance(value, list):
                count += sum(len(item) if isinstance(item, list) else 1 for item in value)
            else:
                count += 1
    return count


def _update_values(update: Update) -> int:
    count = len(update.trace)  # one value a path, but for arrays
    for value in update.trace.values():
        if type(value) is list:
            count += sum(len(item) if isinstance(item, list) else 1 for item in value) - 1
    return count


def values_in(update: StreamUpdate) -> int:
    """How many values an update carries (what catch-up budgets are counted in)."""
    return sum(_delta_values(d) for d in update["traces"].values()) + len(update.get("layout", ()))
