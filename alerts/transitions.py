"""What a transition does, in one transaction on the alerts' thread: the alert's new state, an
annotation on the plot, and the deliveries it owes (webhook, e-mail), stored for the timer's
delivery worker (alerts/delivery.py). A transition reported twice is recorded once."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, Delivery
from alerts.rules import FIRING, SILENCE, Transition, transition_text
from base.rate_limited_log import RateLimitedLog
from core.annotation_fields import AnnotationInvalid
from core.models import Annotation, Plot, Trace, isostring
from core.models.windows import traces_with_windows
from streaming.committer import OUTAGE_ERRORS

log = logging.getLogger("plotserver.alerts")
_failures = RateLimitedLog(log)

FIRING_COLOR = "#d62728"
RESOLVED_COLOR = "#2ca02c"


def payload(alert: Alert, transition: Transition) -> dict[str, Any]:
    """The webhook's JSON body (docs/alerts.md, "Payload")."""
    return {
        "alert": alert.pk,
        "state": "firing" if transition.state == FIRING else "resolved",
        "plot": alert.plot_id,
        "trace": alert.trace,
        "condition": alert.condition,
        "threshold": alert.threshold,
        "seconds": alert.seconds,
        "value": transition.value,
        "at": isostring(datetime.fromtimestamp(transition.at, tz=UTC)),
    }


class NotRecorded(Exception):
    """The database went away while transitions were recorded: `rest` are those not recorded
    (to be tried again once it is back), `outage` the database's error."""

    def __init__(self, rest: list[Transition], outage: Exception) -> None:
        super().__init__(f"{len(rest)} alert transitions not recorded: {outage}")
        self.rest = rest
        self.outage = outage


def record_transitions(transitions: list[Transition]) -> int:
    """Store each transition whose alert was still in the other state; how many were. Each is
    its own transaction (a savepoint when called inside one): one that fails for itself (its plot
    deleted meanwhile, a defect) is logged and rolled back, and the others are still recorded. The
    database going away stops the pass: NotRecorded holds what is left, none of it lost."""
    recorded = 0
    for position, each in enumerate(transitions):
        try:
            recorded += _record(each)
        except OUTAGE_ERRORS as exc:
            raise NotRecorded(transitions[position:], exc) from exc
        except Exception:  # one transition's failure costs only that transition
            _failures.warning(
                "transition", f"alert {each.alert_id}: its {each.state} transition was not recorded", exc_info=True
            )
    return recorded


def _record(transition: Transition) -> int:
    plot_id = Alert.objects.filter(pk=transition.alert_id).values_list("plot_id", flat=True).first()
    if plot_id is None:
        return 0
    with transaction.atomic():
        # The plot's row is locked before the alert's, in the order a plot's deletion takes
        # them (two transactions that lock in opposite orders can deadlock on PostgreSQL).
        if not Plot.objects.select_for_update().filter(pk=plot_id).exists():
            return 0
        if not Alert.record(transition):
            return 0
        alert = Alert.objects.filter(pk=transition.alert_id).first()
        if alert is None:
            return 0
        _annotate(alert, transition)
        _queue_deliveries(alert, payload(alert, transition))
    return 1


def store_values(values: dict[int, float]) -> None:
    """The threshold alerts' last values, in one query."""
    alerts = [Alert(pk=pk, last_value=value) for pk, value in values.items()]
    if alerts:
        Alert.objects.bulk_update(alerts, ["last_value"])


def _annotate(alert: Alert, transition: Transition) -> None:
    at = datetime.fromtimestamp(transition.at, tz=UTC)
    since = at
    if alert.condition == SILENCE and transition.state == FIRING:
        since = datetime.fromtimestamp(transition.at - transition.value, tz=UTC)
    text = transition_text(
        alert.condition, transition.state, transition.value, alert.threshold, f"{since:%H:%M:%S} UTC"
    )
    x = transition.x if transition.x is not None else newest_x(alert)
    fields = {
        "x": x,
        "text": text,
        "trace": alert.trace,
        "color": FIRING_COLOR if transition.state == FIRING else RESOLVED_COLOR,
    }
    try:
        with transaction.atomic():
            Annotation.add(alert.plot_id, fields)
    except AnnotationInvalid as exc:  # the plot is full, its trace gone: the alert goes on
        log.warning("alert %s: its %s annotation was not made: %s", alert.pk, transition.state, exc)


def newest_x(alert: Alert) -> object:
    """Where the trace's window ends: its newest x, else its point count (Plotly numbers the
    points of a trace with no x), else 0."""
    traces = traces_with_windows(Trace.objects.filter(plot_id=alert.plot_id, index=alert.trace))
    if not traces:
        return 0
    spec = traces[0].spec
    x, y = spec.get("x"), spec.get("y")
    if isinstance(x, list) and x and isinstance(x[-1], (int, float, str)) and not isinstance(x[-1], bool):
        return x[-1]
    return max(len(y) - 1, 0) if isinstance(y, list) else 0


def _queue_deliveries(alert: Alert, body: dict[str, Any]) -> None:
    kinds = ([Delivery.WEBHOOK] if alert.webhook else []) + ([Delivery.EMAIL] if alert.emails else [])
    if not kinds:
        return
    text = json.dumps(body, separators=(",", ":"))
    waiting = Delivery.objects.filter(done=False)
    full = ""
    if waiting.count() + len(kinds) > settings.ALERT_DELIVERY_QUEUE:
        full = "dropped: ALERT_DELIVERY_QUEUE is full"
    elif waiting.filter(alert__owner_id=alert.owner_id).count() + len(kinds) > settings.ALERT_DELIVERY_QUEUE_PER_USER:
        full = "dropped: this user's deliveries fill ALERT_DELIVERY_QUEUE_PER_USER"
    now = timezone.now()
    for kind in kinds:
        if full:
            Delivery.objects.create(alert=alert, kind=kind, body=text, done=True, outcome=full)
            alert.note_attempt({"at": isostring(now), "kind": kind, "attempt": 0, "outcome": full})
        else:
            Delivery.objects.create(alert=alert, kind=kind, body=text)
