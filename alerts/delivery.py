"""Deliveries of the alerts' transitions: each webhook POST or e-mail is tried on a thread of its
own (a slow or dead target holds up nothing else, least of all a stream), retried with backoff
for ALERT_DELIVERY_RETRY_FOR seconds, and every attempt's outcome goes into its alert's status.

A webhook's body is signed (X-Plotserver-Signature: sha256=<hex HMAC-SHA256 of the body with the
alert's webhook_secret>), and its host is checked at every attempt (rules.check_webhook_target):
an address that was allowed when the alert was made may resolve elsewhere later.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from alerts.models import Alert, Delivery
from alerts.rules import SIGNATURE_HEADER, TargetRefused, check_webhook_target, sign
from core.models import isostring

# How long the longest wait between two attempts of a delivery may grow.
MAX_BACKOFF = 300.0
# Characters of a target's answer or error kept in an attempt's outcome.
OUTCOME_CHARS = 200


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A webhook's redirect is not followed: it could lead where ALERT_WEBHOOK_HOSTS refuses."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(NoRedirect)


def due(limit: int, busy: set[int]) -> list[int]:
    """The deliveries whose next attempt is due, oldest first, but those being tried."""
    rows = Delivery.objects.filter(done=False, next_at__lte=timezone.now()).exclude(pk__in=busy)
    return list(rows.order_by("next_at", "pk").values_list("pk", flat=True)[:limit])


def attempt(delivery_id: int) -> None:
    """Try one delivery once (on a delivery thread) and store what came of it."""
    delivery = Delivery.objects.select_related("alert").filter(pk=delivery_id, done=False).first()
    if delivery is None:
        return
    alert = delivery.alert
    ok, outcome = (
        post_webhook(alert, delivery.body) if delivery.kind == Delivery.WEBHOOK else send_email(alert, delivery.body)
    )
    now = timezone.now()
    delivery.attempts += 1
    delivery.outcome = outcome[:300]
    if ok:
        delivery.done = True
    elif (now - delivery.created).total_seconds() >= settings.ALERT_DELIVERY_RETRY_FOR:
        delivery.done = True
        delivery.outcome = f"gave up after {delivery.attempts} attempts: {outcome}"[:300]
    else:
        wait = min(settings.ALERT_DELIVERY_RETRY_FIRST * 2 ** (delivery.attempts - 1), MAX_BACKOFF)
        delivery.next_at = now + timedelta(seconds=wait)
    delivery.save(update_fields=["attempts", "outcome", "done", "next_at"])
    alert.note_attempt(
        {
            "at": isostring(now),
            "kind": delivery.kind,
            "attempt": delivery.attempts,
            "state": json.loads(delivery.body)["state"],
            "ok": ok,
            "outcome": delivery.outcome,
            "next": None if delivery.done else isostring(delivery.next_at),
        }
    )


def post_webhook(alert: Alert, body: str) -> tuple[bool, str]:
    """POST the signed body to the alert's webhook: (delivered, what came of it)."""
    try:
        check_webhook_target(alert.webhook, settings.ALERT_WEBHOOK_HOSTS)
    except TargetRefused as exc:
        return False, f"refused: {exc}"
    data = body.encode()
    request = urllib.request.Request(alert.webhook, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "plotserver-alerts")
    request.add_header(SIGNATURE_HEADER, sign(data, alert.webhook_secret))
    try:
        with _opener.open(request, timeout=settings.ALERT_WEBHOOK_TIMEOUT) as response:
            return 200 <= response.status < 300, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (OSError, ValueError) as exc:
        return False, f"error: {exc}"[:OUTCOME_CHARS]


def send_email(alert: Alert, body: str) -> tuple[bool, str]:
    """Mail the transition to the alert's addresses through Django's mail settings."""
    message = json.loads(body)
    subject = (
        f"plotserver alert {alert.pk} {message['state']}: plot {alert.plot_id} trace {alert.trace} {alert.condition}"
    )
    text = "\n".join(f"{key}: {value}" for key, value in message.items())
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, list(alert.emails))
    except Exception as exc:  # SMTP errors are many kinds of exception
        return False, f"error: {exc}"[:OUTCOME_CHARS]
    return True, "sent"
