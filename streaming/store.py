"""The commit: what the streams of this process accepted, stored in one transaction.

A commit appends one StreamChunk row per stream and adds to the token counters; it rewrites
no window. Now and then (a stream ends, a few seconds passed, a window's worth of values or
CHECKPOINT_ROWS (streaming/committer.py) rows piled up, or the writer's view went stale) it checkpoints a
stream: folds the rows into Trace.spec (TraceCheckpoint says up to where) and trims rows that
neither a window nor a returning viewer needs. Synchronous: the pipeline runs it on its own
database thread.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max
from django.utils import timezone

from core.models import Annotation, Plot, Run, StreamChunk, StreamToken, Trace, TraceCheckpoint
from core.models.windows import checkpoint_of, current_windows, spec_hash
from core.window import merge_layout
from streaming.leases import SEQ_SKIP
from streaming.snapshots import catch_up_updates_limit, history_budget
from streaming.stream_state import Chunk, LiveTrace, StreamWriter, WriterView, signature_of

# What a checkpoint hands back to the writer: its traces' windows, the plot revisions and the
# signature they were read with.


# Updates a stored row holds at most: a fast stream's commit is written as several rows, so that
# a history reader's page of rows (history/range_reads.py) holds a bounded number of points.
ROW_MAX_UPDATES = 1000


def load_stream(token_id: int, now: datetime, skip: bool = False) -> StreamWriter | None:
    """The writer of a token's stream, as it starts: its position and current windows.

    `skip`: the previous writer did not hand over (it crashed), so numbering jumps past what
    it may have sent. None when the token is gone.
    """
    with transaction.atomic():
        tokens = StreamToken.objects.filter(pk=token_id)
        if skip:
            tokens.update(last_seq=F("last_seq") + SEQ_SKIP)
        row = tokens.values_list("last_seq", "resume_stream", "resume_line").first()
        if row is None:
            return None
        view = checkpoint(token_id, now)
        run = Run.objects.filter(token_id=token_id).aggregate(newest=Max("number"))["newest"] or 1
    seq, resume_stream, resume_line = row
    return StreamWriter(token_id, seq, view, run, (resume_stream, resume_line))


def commit_chunks(chunks: list[Chunk], now: datetime) -> dict[int, WriterView]:
    """Store the chunks in one transaction. Returns fresh windows for each stream whose
    writer's view went stale (its traces or plots were edited), which it must take."""
    reloads: dict[int, WriterView] = {}
    token_ids = [chunk.token_id for chunk in chunks]
    with transaction.atomic():
        existing, seen = _streams(token_ids)
        chunks = [chunk for chunk in chunks if chunk.token_id in existing]  # deleted while streaming
        if not chunks:
            return reloads
        stale = {chunk.token_id for chunk in chunks if signature_of(seen[chunk.token_id]) != chunk.signature}
        for chunk in chunks:
            if chunk.token_id in stale:
                _retarget(chunk, seen[chunk.token_id])
        plots = _lock_plots(chunks)
        _merge_layouts(chunks, plots)
        _append_rows([chunk for chunk in chunks if chunk.first_seq], now)
        _record_runs(chunks, now)
        _record_annotations(chunks, now, set(plots))
        _count(chunks)
        for chunk in chunks:
            if chunk.token_id in stale or chunk.checkpoint:
                loaded = checkpoint(chunk.token_id, now)
                chunk.annotation_counts = loaded.annotation_counts  # the writer's from now on
                if chunk.token_id in stale:
                    reloads[chunk.token_id] = loaded
    return reloads


def _streams(token_ids: list[int]) -> tuple[set[int], dict[int, list[tuple[int, int, int, int, int]]]]:
    """Which tokens still exist, and their traces as (trace id, plot id, index, maxpoints, plot
    revision) rows: two plain queries (the ORM's query building costs more than they do)."""
    quote = connection.ops.quote_name
    ids = ", ".join(["%s"] * len(token_ids))
    seen: dict[int, list[tuple[int, int, int, int, int]]] = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {quote(StreamToken._meta.db_table)} WHERE id IN ({ids})", token_ids)
        existing = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            f"SELECT t.stream_token_id, t.id, t.plot_id, t.{quote('index')}, t.maxpoints, p.revision"
            f" FROM {quote(Trace._meta.db_table)} t JOIN {quote(Plot._meta.db_table)} p ON p.id = t.plot_id"
            f" WHERE t.stream_token_id IN ({ids})",
            token_ids,
        )
        for row in cursor.fetchall():
            seen[row[0]].append(tuple(row[1:]))
    return existing, seen


def _retarget(chunk: Chunk, traces: list[tuple[int, int, int, int, int]]) -> None:
    """A chunk its writer made before it saw an edit of its traces or plots: point its rows at
    the traces that hold those indexes now, at the plots' current revisions, as viewers (who
    apply updates by index) saw them. So a point accepted just after an edit (a cleared
    window, say) lands on the edited trace instead of being lost with the old view."""
    now_at = {(plot_id, index): pk for pk, plot_id, index, _, _ in traces}
    revisions = {plot_id: revision for _, plot_id, _, _, revision in traces}
    for plot_id, entry in chunk.plots.items():
        if plot_id in revisions:
            entry["revision"] = revisions[plot_id]
            entry["traces"] = {k: now_at[plot_id, int(k)] for k in entry["traces"] if (plot_id, int(k)) in now_at}


def _append_rows(chunks: list[Chunk], now: datetime) -> None:
    """One multi-row INSERT with the updates encoded by orjson: the ORM's bulk insert passes
    JSON through PostgreSQL array literals, escaped character by character in Python."""
    if not chunks:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in ("token_id", "first_seq", "last_seq", "time", "plots", "values"))
    json_value = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    time = connection.ops.adapt_datetimefield_value(now)
    params: list[int | str | None] = []
    count = 0
    for chunk in chunks:
        for first_seq, last_seq, plots, values in chunk.rows(ROW_MAX_UPDATES):
            encoded = orjson.dumps(plots, option=orjson.OPT_NON_STR_KEYS).decode()
            params += [chunk.token_id, first_seq, last_seq, time, encoded, values]
            count += 1
    rows = ", ".join([f"(%s, %s, %s, %s, {json_value}, %s)"] * count)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(StreamChunk._meta.db_table)} ({columns}) VALUES {rows}", params)


def _record_runs(chunks: list[Chunk], now: datetime) -> None:
    """The runs the chunks start, with their first updates. A writer that lost its hold but
    still commits cannot number a run twice: the newer writer's run stands."""
    runs = [
        Run(token_id=chunk.token_id, number=number, first_seq=seq, started=now, name=name)
        for chunk in chunks
        for number, seq, name in chunk.runs
    ]
    if runs:
        Run.objects.bulk_create(runs, ignore_conflicts=True)


def _record_annotations(chunks: list[Chunk], now: datetime, locked: set[int]) -> None:
    """The annotations the chunks' lines made, with them; each learns its stored form, which
    the committer then hands to the plot's viewers. A plot deleted meanwhile (not among the
    `locked` rows) takes none."""
    made = [(chunk.token_id, annotation) for chunk in chunks for annotation in chunk.annotations]
    if not made:
        return
    for _, annotation in made:
        annotation.stored = None  # what an attempt that rolled back said is not so
    made = [(token_id, a) for token_id, a in made if a.plot_id in locked]
    rows = Annotation.record_from_streams([(a.plot_id, token_id, a.seq, a.fields) for token_id, a in made], now)
    for (_, annotation), row in zip(made, rows, strict=True):
        annotation.stored = None if row is None else row.as_dict()


def _lock_plots(chunks: list[Chunk]) -> dict[int, Plot]:
    """The plots the commit changes (a layout merged, an annotation stored), their rows locked
    in id order before any trace's (as a plot's deletion locks them): several streams, and
    edits, may change one plot, and one deleted meanwhile is not among them (never a foreign
    key refused at COMMIT)."""
    plot_ids = {plot_id for chunk in chunks if chunk.layouts for plot_id in chunk.plots}
    plot_ids |= {annotation.plot_id for chunk in chunks for annotation in chunk.annotations}
    if not plot_ids:
        return {}
    return {p.pk: p for p in Plot.objects.select_for_update().filter(pk__in=plot_ids).order_by("pk")}


def _merge_layouts(chunks: list[Chunk], plots: dict[int, Plot]) -> None:
    """Layout changes go into Plot.layout at once, merged under the plot's row lock (`plots`)."""
    changed: dict[int, Plot] = {}
    for chunk in chunks:
        for layout in chunk.layouts:
            for plot_id in chunk.plots:
                if plot_id in plots:
                    merge_layout(plots[plot_id].layout, layout)
                    changed[plot_id] = plots[plot_id]
    if not changed:
        return
    now = timezone.now()
    for plot in changed.values():
        plot.updated = now
    Plot.objects.bulk_update(changed.values(), ["layout", "updated"])


def _count(chunks: list[Chunk]) -> None:
    """The token counters, one statement per token sent together. Added to, never overwritten:
    a writer that lost its hold but still commits cannot turn them back. (The ORM's
    bulk_update with expressions costs milliseconds of Python per token.)"""
    quote, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    sql = (
        f"UPDATE {quote(StreamToken._meta.db_table)} SET last_seq = {greatest}(last_seq, %s),"
        " accepted = accepted + %s, rejected = rejected + %s,"
        " last_error = CASE WHEN %s THEN %s ELSE last_error END,"
        " last_error_line = CASE WHEN %s THEN %s ELSE last_error_line END,"
        " last_error_at = CASE WHEN %s THEN %s ELSE last_error_at END,"
        " last_write_at = COALESCE(%s, last_write_at),"
        # The resume mark moves only forward within one producer's stream: a writer that lost
        # its hold but still commits cannot turn it back.
        " resume_line = CASE WHEN %s = '' THEN resume_line"
        f" WHEN resume_stream = %s THEN {greatest}(resume_line, %s) ELSE %s END,"
        " resume_stream = CASE WHEN %s = '' THEN resume_stream ELSE %s END"
        " WHERE id = %s"
    )
    params = []
    for chunk in chunks:
        failed = chunk.last_error is not None
        line, message, at = chunk.last_error if chunk.last_error is not None else (None, "", None)
        params.append(
            (
                chunk.last_seq,
                chunk.accepted,
                chunk.rejected,
                failed,
                message,
                failed,
                line,
                failed,
                adapt(at),
                adapt(chunk.last_write_at),
                *(chunk.resume_stream, chunk.resume_stream, chunk.resume_line, chunk.resume_line),
                *(chunk.resume_stream, chunk.resume_stream),
                chunk.token_id,
            )
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def checkpoint(token_id: int, now: datetime) -> WriterView:
    """Fold a stream's rows into its traces' specs, trim what is no longer needed, and return
    the windows (the writer's fresh view). Run inside a commit's transaction."""
    traces = list(
        Trace.objects.filter(stream_token_id=token_id)
        .select_related("plot", "checkpoint")
        .select_for_update(of=("self",))
        .order_by("plot_id", "index")
    )
    positions: dict[int, int] = {}
    specs = current_windows(traces, positions)
    # Up to the newest row read, not the token's position: a row of a writer that did not
    # hand over in time may still come, numbered below that position, and must not be skipped.
    newest = positions.get(token_id, 0)
    marks, changed, floor = [], [], newest
    for trace, spec in zip(traces, specs, strict=True):
        checkpoint = checkpoint_of(trace)
        seq = max(newest, checkpoint.seq if checkpoint is not None and checkpoint.token_id == token_id else 0)
        floor = min(floor, seq)
        digest = spec_hash(spec)
        if checkpoint is not None and checkpoint.seq == seq and checkpoint.spec_hash == digest:
            continue  # nothing new since the last checkpoint
        trace.spec = spec
        changed.append(trace)
        marks.append(TraceCheckpoint(trace=trace, token_id=token_id, seq=seq, spec_hash=digest, time=now))
    if changed:
        Trace.objects.bulk_update(changed, ["spec"])
        TraceCheckpoint.objects.bulk_create(
            marks,
            update_conflicts=True,
            unique_fields=["trace"],
            update_fields=["token_id", "seq", "spec_hash", "time"],
        )
    _trim(token_id, traces, floor, now)
    counts = dict(
        Trace.objects.filter(plot_id__in={t.plot_id for t in traces})
        .values_list("plot_id")
        .annotate(count=Count("pk"))
        .order_by()
    )
    live = [
        LiveTrace(t.pk, t.plot_id, t.index, t.maxpoints, spec, counts.get(t.plot_id, 1))
        for t, spec in zip(traces, specs, strict=True)
    ]
    revisions = {t.plot_id: t.plot.revision for t in traces}
    signature = signature_of((t.pk, t.plot_id, t.index, t.maxpoints, t.plot.revision) for t in traces)
    layouts = {t.plot_id: t.plot.layout for t in traces}
    annotation_counts = dict(
        Annotation.objects.filter(plot_id__in=revisions).values_list("plot_id").annotate(count=Count("pk")).order_by()
    )
    return WriterView(live, revisions, signature, layouts, annotation_counts)


def rebase_window(trace: Trace) -> None:
    """The trace's spec was just rewritten as its whole window (an operator cleared it): the
    rows stored so far must not be replayed onto it. Call inside the transaction that saves it."""
    if trace.stream_token_id is None:
        return
    newest = StreamChunk.objects.filter(token_id=trace.stream_token_id).aggregate(newest=Max("last_seq"))["newest"]
    TraceCheckpoint.objects.update_or_create(
        trace=trace,
        defaults={
            "token_id": trace.stream_token_id,
            "seq": newest or 0,
            "spec_hash": spec_hash(trace.spec),
            "time": timezone.now(),
        },
    )


def _trim(token_id: int, traces: list[Trace], checkpointed: int, now: datetime) -> None:
    """Drop the oldest rows that every window holds and a returning viewer would not be sent
    (a snapshot is cheaper past a few windows' worth): the log stays a few windows long.
    STREAM_HISTORY_SECONDS keeps rows for longer; a plot whose retention keeps more than its
    window leaves them to the history pruning job (history/pruning.py)."""
    if any(t.keeps_history for t in traces):
        return
    maxpoints = [t.maxpoints for t in traces]
    budget, updates = history_budget(maxpoints), catch_up_updates_limit(maxpoints)
    total, cutoff = 0, None
    for last_seq, values in (
        StreamChunk.objects.filter(token_id=token_id).order_by("-last_seq").values_list("last_seq", "values")
    ):
        total += values
        if total > budget or last_seq <= checkpointed - updates:
            cutoff = last_seq
            break
    if cutoff is None:
        return
    old = StreamChunk.objects.filter(token_id=token_id, last_seq__lte=min(cutoff, checkpointed))
    if settings.STREAM_HISTORY_SECONDS:
        old = old.filter(time__lt=now - timedelta(seconds=settings.STREAM_HISTORY_SECONDS))
    old.delete()
