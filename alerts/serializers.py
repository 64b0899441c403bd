"""An alert as the REST API reads and writes it (docs/alerts.md)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from rest_framework import serializers

from alerts.models import Alert
from alerts.rules import CONDITIONS, SILENCE, TargetRefused, check_webhook_target
from core.models import Plot, isostring

# The shortest silence an alert waits for, in seconds (the timer ticks four times a second).
MIN_SECONDS = 0.5
MAX_EMAILS = 10


class AlertSerializer(serializers.ModelSerializer):
    plot = serializers.PrimaryKeyRelatedField(queryset=Plot.objects.all(), help_text="One of your plots.")
    condition = serializers.ChoiceField(choices=CONDITIONS)
    emails = serializers.ListField(child=serializers.EmailField(), required=False, max_length=MAX_EMAILS)
    webhook = serializers.URLField(required=False, allow_blank=True, max_length=2000)
    webhook_secret = serializers.SerializerMethodField(
        help_text="The key of the webhook's signature: given once, in the answer that made the alert."
    )
    since = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "plot",
            "trace",
            "condition",
            "seconds",
            "threshold",
            "for_seconds",
            "webhook",
            "emails",
            "webhook_secret",
            "state",
            "since",
            "last_value",
            "delivery",
            "created",
        ]
        read_only_fields = ["state", "last_value", "delivery", "created"]

    def get_webhook_secret(self, alert: Alert) -> str | None:
        return alert.webhook_secret if self.context.get("created") else None

    def get_since(self, alert: Alert) -> str | None:
        return isostring(alert.since)

    def validate_plot(self, plot: Plot) -> Plot:
        request = self.context["request"]
        if plot.owner_id != request.user.pk:
            # Said as for a plot that does not exist: another user's plots are not told apart.
            raise serializers.ValidationError(f'Invalid pk "{plot.pk}" - object does not exist.')
        return plot

    def validate_webhook(self, url: str) -> str:
        if url:
            try:
                # Syntax and an address written in the URL only: no DNS look-up on a request
                # thread; a name is checked at every delivery (alerts/delivery.py).
                check_webhook_target(url, settings.ALERT_WEBHOOK_HOSTS, resolver=None)
            except TargetRefused as exc:
                raise serializers.ValidationError(str(exc)) from None
        return url

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        plot, trace = data["plot"], data["trace"]
        if not plot.traces.filter(index=trace).exists():
            raise serializers.ValidationError({"trace": [f"plot {plot.pk} has no trace {trace}"]})
        if data["condition"] == SILENCE:
            seconds = data.get("seconds")
            if seconds is None or not math.isfinite(seconds) or seconds < MIN_SECONDS:
                raise serializers.ValidationError(
                    {"seconds": [f"a silence alert waits at least {MIN_SECONDS} seconds"]}
                )
            data["threshold"] = None
        else:
            threshold = data.get("threshold")
            if threshold is None or not math.isfinite(threshold):
                raise serializers.ValidationError(
                    {"threshold": [f"an {data['condition']} alert needs a finite threshold"]}
                )
            data["seconds"] = None
        for_seconds = data.get("for_seconds", 0.0)
        if not math.isfinite(for_seconds) or for_seconds < 0:
            raise serializers.ValidationError({"for_seconds": ["seconds, 0 or more"]})
        held = Alert.objects.filter(owner=self.context["request"].user).count()
        if held >= settings.ALERTS_PER_USER:
            raise serializers.ValidationError(
                {
                    "plot": [
                        f"you have {held} alerts, the most a user has is {settings.ALERTS_PER_USER} (ALERTS_PER_USER)"
                    ]
                }
            )
        return data
