"""The short history that lets a reconnecting viewer catch up instead of starting over."""

from __future__ import annotations

from django.db import models


class RecentUpdates(models.Model):
    """The updates of one stream in one batch, as one plot's viewers got them.

    Kept while they are within the window of the stream's traces: a viewer that reconnects
    with its last sequence number gets the updates after it, if they are all still here;
    otherwise a fresh snapshot. One row per batch, not per point.
    """

    plot = models.ForeignKey("plots.Plot", on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey("plots.StreamToken", on_delete=models.CASCADE, related_name="+")
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField()
    updates = models.JSONField(help_text="The `plot.updates` entries, in sequence order.")
    size = models.PositiveIntegerField(default=0, help_text="How many values the updates carry.")

    class Meta:
        verbose_name_plural = "recent updates"
        indexes = [models.Index(fields=["plot", "token", "last_seq"]), models.Index(fields=["token", "last_seq"])]
