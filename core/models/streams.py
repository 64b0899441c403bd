"""What the streams store: the log of appended points and the checkpoints of the windows.

A trace's current window is its checkpoint (Trace.spec, folded up to TraceCheckpoint.seq) plus
the StreamChunk rows of its stream after that seq. A commit appends rows; it rewrites no window.
"""

from __future__ import annotations

from django.db import models

from base.fastjson import FastJSONDecoder, FastJSONEncoder


class StreamChunk(models.Model):
    """What one stream appended in one commit: its updates, by plot, as viewers got them.

    One row per stream per commit, never per point. `plots` maps a plot id to
    `{"revision": the plot revision the writer knew, "traces": {index: trace id},
    "updates": [StreamUpdate, ...]}` (docs/websocket.md shows a StreamUpdate). Rows are only
    ever appended, and deleted oldest first once a checkpoint holds them and catch-up no
    longer needs them (streaming/store.py), so the log is ready for reads by time range.
    """

    token = models.ForeignKey("plots.StreamToken", on_delete=models.CASCADE, related_name="+")
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    time = models.DateTimeField(help_text="When the commit that wrote the row began.")
    plots = models.JSONField(encoder=FastJSONEncoder, decoder=FastJSONDecoder, help_text="The updates, by plot id.")
    values = models.PositiveIntegerField(default=0, help_text="How many values the updates carry.")

    class Meta:
        db_table = "streaming_streamchunk"  # made by the streaming app, before the core held it
        indexes = [models.Index(fields=["token", "last_seq"]), models.Index(fields=["token", "time"])]

    def __str__(self) -> str:
        return f"stream {self.token_id} updates {self.first_seq}-{self.last_seq}"


class TraceCheckpoint(models.Model):
    """Which updates of its stream a trace's stored spec already holds.

    `spec_hash` is the hash of the spec as the checkpoint wrote it: a spec that no longer
    matches was edited since (REST, pages, admin), and only rows written after the edit apply.
    """

    trace = models.OneToOneField("plots.Trace", on_delete=models.CASCADE, primary_key=True, related_name="checkpoint")
    token_id = models.BigIntegerField(help_text="The stream whose sequence numbers `seq` counts.")
    seq = models.BigIntegerField()
    spec_hash = models.CharField(max_length=32)
    time = models.DateTimeField()

    class Meta:
        db_table = "streaming_tracecheckpoint"

    def __str__(self) -> str:
        return f"trace {self.trace_id} at {self.seq}"
