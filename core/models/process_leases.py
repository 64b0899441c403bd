"""Leases that make one process of several the one that runs a job: the alerts' timer
(alerts/timer.py), the MQTT subscriptions (mqtt/subscriber.py). One row a job, by name."""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.db import IntegrityError, models
from django.utils import timezone


class ProcessLease(models.Model):
    """Who runs the job `name`: one process at a time, renewed while it lives, handed over when
    it stops or its lease runs out."""

    name = models.CharField(max_length=32, primary_key=True)
    holder = models.CharField(max_length=64, blank=True)
    until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or 'nobody'}"

    @classmethod
    def hold(cls, name: str, holder: str, duration: timedelta) -> bool:
        """Take or renew the lease for `duration`; True while `holder` holds it."""
        now = timezone.now()
        free = models.Q(holder=holder) | models.Q(holder="") | models.Q(until__lt=now) | models.Q(until__isnull=True)
        if cls.objects.filter(free, name=name).update(holder=holder, until=now + duration):
            return True
        if not cls.objects.filter(name=name).exists():
            with contextlib.suppress(IntegrityError):
                cls.objects.create(name=name, holder=holder, until=now + duration)
                return True
        return False

    @classmethod
    def release(cls, name: str, holder: str) -> None:
        """Hand the lease over at a clean stop: another process takes it at once."""
        cls.objects.filter(name=name, holder=holder).update(holder="", until=None)
