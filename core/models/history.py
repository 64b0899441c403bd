"""The compact history: a trace's points folded out of its stream's rows into blocks of columns.

The stream's rows (core/models/streams.py StreamChunk) hold each commit's updates as JSON: fine
for windows and returning viewers, about 100 bytes a point and slow to read back in bulk. The
folding job (history/folding.py) copies the checkpointed rows of every trace whose plot keeps
history into HistoryBlock rows of a few thousand points each, numbers packed as arrays
(history/blocks.py); HistoryFold says up to which row of the stream a trace is folded. Reads
take the blocks up to that row, then the rows after it (history/range_reads.py).
"""

from __future__ import annotations

from django.db import models

from base.fastjson import FastJSONDecoder


class HistoryBlock(models.Model):
    """Consecutive points of one trace's history, as columns.

    `layout` lists each attribute path with how its column is stored, as [path, kind] pairs
    in the order the points had them: "i" (int64, delta-coded), "f" (float64), "m" (float64
    and a bit per point that was a whole number), "d <sep><unit>" (a date string kept as
    int64 microseconds, delta-coded, written back in that one format), "j" (a JSON list in
    `attributes`: text, nulls, mixed kinds). `x` and `y` hold the packed bytes of those two
    columns. `low_x`/`high_x` are the block's smallest and largest x as a range compares
    them (null when no point has a usable x): a range read loads only the blocks that
    overlap it.
    """

    trace = models.ForeignKey("plots.Trace", on_delete=models.CASCADE, related_name="+")
    token_id = models.BigIntegerField(help_text="The stream whose rows the block was folded from.")
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField(help_text="The newest stream row folded into the block.")
    time = models.DateTimeField(help_text="When the newest row folded into the block was written.")
    count = models.PositiveIntegerField()
    low_x = models.FloatField(null=True)
    high_x = models.FloatField(null=True)
    x_dates = models.BooleanField(null=True, help_text="Whether x are dates (null: no point has an x).")
    layout = models.JSONField(default=list, decoder=FastJSONDecoder)
    x = models.BinaryField(null=True)
    y = models.BinaryField(null=True)
    attributes = models.JSONField(null=True, decoder=FastJSONDecoder, help_text="Columns that are not packed, by path.")

    class Meta:
        db_table = "history_historyblock"  # made by the history app, before the core held it
        indexes = [
            models.Index(fields=["trace", "last_seq"]),
            models.Index(fields=["trace", "low_x"]),
            models.Index(fields=["trace", "high_x"]),
        ]

    def __str__(self) -> str:
        return f"trace {self.trace_id} points of rows {self.first_seq}-{self.last_seq}"


class HistoryFold(models.Model):
    """How far a trace's history is folded into blocks: the stream rows up to `seq` of stream
    `token_id`. Moved forward only by compare-and-set, so two server processes folding at once
    never fold a row twice. `removable` is `seq` as the previous pass of the history job left
    it: folded rows are removed one pass after they were folded, so a download that reached
    them just before can still read them."""

    trace = models.OneToOneField("plots.Trace", on_delete=models.CASCADE, primary_key=True, related_name="+")
    token_id = models.BigIntegerField()
    seq = models.BigIntegerField(default=0)
    removable = models.BigIntegerField(default=0)

    class Meta:
        db_table = "history_historyfold"

    def __str__(self) -> str:
        return f"trace {self.trace_id} folded to {self.seq}"


class Run(models.Model):
    """A run of a stream: its updates from `first_seq` up to the next run's first (the current
    run has no end). Run 1 has no row: it starts at the stream's first update, when the token
    was made. A row is written by the commit that stores the run's first update, in the same
    transaction (streaming/store.py), so a run and its points are stored together."""

    token = models.ForeignKey("plots.StreamToken", on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()
    first_seq = models.BigIntegerField()
    started = models.DateTimeField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        db_table = "history_run"
        constraints = [models.UniqueConstraint(fields=["token", "number"], name="one_run_number_per_stream")]
        ordering = ["token", "number"]

    def __str__(self) -> str:
        return f"run {self.number} of stream {self.token_id}"
