"""Alerts on a plot's trace (silence, above, below), their webhook and e-mail deliveries, and the
lease that lets one process run the timer. docs/alerts.md is the reference."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from alerts.rules import CONDITIONS, FIRING, OK, Transition
from base.fastjson import FastJSONDecoder, FastJSONEncoder

# An alert's status keeps the outcomes of this many latest delivery attempts.
STATUS_ATTEMPTS = 10


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Alert(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    plot = models.ForeignKey("plots.Plot", on_delete=models.CASCADE, related_name="alerts")
    trace = models.PositiveIntegerField(help_text="The index of the plot's trace it watches.")
    condition = models.CharField(max_length=16, choices=[(c, c) for c in CONDITIONS])
    seconds = models.FloatField(null=True, blank=True, help_text="silence: seconds without a line before it fires.")
    threshold = models.FloatField(null=True, blank=True, help_text="above / below: the value it compares with.")
    for_seconds = models.FloatField(default=0, help_text="above / below: how long the value stays past it first.")
    webhook = models.URLField(max_length=2000, blank=True)
    emails = models.JSONField(default=list, blank=True, encoder=FastJSONEncoder, decoder=FastJSONDecoder)
    webhook_secret = models.CharField(max_length=100, default=new_webhook_secret, editable=False)
    state = models.CharField(max_length=8, default=OK, choices=[(OK, OK), (FIRING, FIRING)])
    since = models.DateTimeField(null=True, blank=True, help_text="When it took its state.")
    last_value = models.FloatField(null=True, blank=True)
    delivery = models.JSONField(
        default=list, blank=True, encoder=FastJSONEncoder, decoder=FastJSONDecoder, help_text="Latest attempts."
    )
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["condition", "state"])]

    def __str__(self) -> str:
        return f"alert {self.pk}: plot {self.plot_id} trace {self.trace} {self.condition}"

    @staticmethod
    def record(transition: Transition, last_value: float | None = None) -> bool:
        """Store a transition if the alert was still in the other state (a compare-and-set: a
        transition is recorded once, whoever reports it twice). True when it was recorded."""
        before = OK if transition.state == FIRING else FIRING
        at = datetime.fromtimestamp(transition.at, tz=UTC)
        return bool(
            Alert.objects.filter(pk=transition.alert_id, state=before).update(
                state=transition.state, since=at, last_value=transition.value if last_value is None else last_value
            )
        )

    @staticmethod
    def summaries(owner: Any, plot_ids: list[int]) -> dict[int, dict[str, int]]:
        """How many alerts each of the owner's plots has and how many fire, for their cards:
        one query for a page of plots."""
        rows = (
            Alert.objects.filter(owner=owner, plot_id__in=plot_ids)
            .order_by()
            .values("plot_id")
            .annotate(count=models.Count("pk"), firing=models.Count("pk", filter=models.Q(state=FIRING)))
        )
        return {row["plot_id"]: {"count": row["count"], "firing": row["firing"]} for row in rows}

    def note_attempt(self, outcome: dict[str, Any]) -> None:
        """Add a delivery attempt's outcome to the alert's status (the latest STATUS_ATTEMPTS)."""
        with transaction.atomic():
            row = Alert.objects.select_for_update().filter(pk=self.pk).values_list("delivery", flat=True).first()
            if row is None:
                return
            Alert.objects.filter(pk=self.pk).update(delivery=[*row, outcome][-STATUS_ATTEMPTS:])


class Delivery(models.Model):
    """One message an alert's transition sends (a webhook POST or an e-mail), kept until it is
    delivered or its retries run out: a restart loses none and sends none twice."""

    WEBHOOK = "webhook"
    EMAIL = "email"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=8, choices=[(WEBHOOK, WEBHOOK), (EMAIL, EMAIL)])
    body = models.TextField(help_text="The JSON body sent.")
    attempts = models.PositiveIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)
    next_at = models.DateTimeField(default=timezone.now)
    done = models.BooleanField(default=False)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["done", "next_at"])]
