"""The short history that lets a reconnecting viewer catch up instead of starting over."""

from __future__ import annotations

from django.db import models


class RecentUpdate(models.Model):
    """One streamed update as one plot's viewers got it, kept while it is within the window.

    A viewer that reconnects with its last sequence number gets these rows after it, if they
    are all still here; otherwise a fresh snapshot.
    """

    plot = models.ForeignKey("plots.Plot", on_delete=models.CASCADE, related_name="+")
    token = models.ForeignKey("plots.StreamToken", on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    payload = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["plot", "token", "seq"]), models.Index(fields=["token", "seq"])]
