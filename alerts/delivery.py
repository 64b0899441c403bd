"""Deliveries of the alerts' transitions: each webhook POST or e-mail is tried on a thread of its
own (a slow or dead target holds up nothing else, least of all a stream), retried with backoff
for ALERT_DELIVERY_RETRY_FOR seconds, and every attempt's outcome goes into its alert's status.

A webhook's body is signed (X-Plotserver-Signature: sha256=<hex HMAC-SHA256 of the body with the
alert's webhook_secret>), and its host is checked at every attempt (rules.check_webhook_target):
an address that was allowed when the alert was made may resolve elsewhere later. The POST goes
to an address that was checked, never to a second look-up of the name (which could answer
another: DNS rebinding); the name stays the request's Host and, over https, its SNI and the
name its certificate must bear.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from alerts.models import Alert, Delivery
from alerts.rules import SIGNATURE_HEADER, Resolver, TargetRefused, check_webhook_target, resolve, sign
from core.models import isostring

# How long the longest wait between two attempts of a delivery may grow.
MAX_BACKOFF = 300.0
# Characters of a target's answer or error kept in an attempt's outcome.
OUTCOME_CHARS = 200
# An attempt claims its delivery by moving its next attempt this long past the longest an attempt
# takes: no other thread or process tries the row meanwhile, nor after a crash before that.
CLAIM_MARGIN = 30.0
# Each webhook POST and e-mail carries its delivery's id: a receiver can tell a retry of a
# delivery it already had (an answer lost on the way) from a new transition.
DELIVERY_HEADER = "X-Plotserver-Delivery"


class PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to `host` made to one of `addresses` (those checked), in turn; with
    no addresses (a host ALERT_WEBHOOK_HOSTS lists by name), to the name. Redirects are never
    followed (http.client follows none): one could lead where ALERT_WEBHOOK_HOSTS refuses."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses
        self.deadline = time.monotonic() + timeout
        self.expired = False

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def _open(self) -> socket.socket:
        if not self.addresses:
            return socket.create_connection((self.host, self.port), self._left())
        error: OSError = OSError(f"no address of {self.host} answered")
        for address in self.addresses:
            try:
                return socket.create_connection((address, self.port), self._left())
            except OSError as exc:
                error = exc
        raise error

    def expire(self) -> None:
        """The whole request's time is up (a target that answers a byte at a time never times
        out a socket operation): its socket is shut, which ends whatever waits on it."""
        self.expired = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)

    def connect(self) -> None:
        self.sock = self._open()


class PinnedHTTPSConnection(PinnedConnection):
    """PinnedConnection over TLS: SNI and the certificate's name are the URL's host."""

    def __init__(self, host: str, port: int, addresses: list[str], timeout: float) -> None:
        super().__init__(host, port, addresses, timeout)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._open(), server_hostname=self.host)


def due(limit: int, busy: set[int]) -> list[int]:
    """The deliveries whose next attempt is due, oldest first, but those being tried and those
    of a user who has ALERT_DELIVERY_PER_USER being tried already (one user's dead targets
    cannot take every delivery thread)."""
    per_user = settings.ALERT_DELIVERY_PER_USER
    taken = Counter(Delivery.objects.filter(pk__in=busy).values_list("alert__owner_id", flat=True))
    rows = Delivery.objects.filter(done=False, next_at__lte=timezone.now()).exclude(pk__in=busy)
    chosen: list[int] = []
    # A bounded look ahead: past one user's queue, to the others'.
    for pk, owner in rows.order_by("next_at", "pk").values_list("pk", "alert__owner_id")[: limit * 50]:
        if taken[owner] < per_user:
            taken[owner] += 1
            chosen.append(pk)
            if len(chosen) >= limit:
                break
    return chosen


def purge(limit: int = 1000) -> int:
    """Forget finished deliveries made more than ALERT_DELIVERY_KEEP seconds ago, at most
    `limit` at a time (the timer calls it now and then); how many were forgotten."""
    before = timezone.now() - timedelta(seconds=settings.ALERT_DELIVERY_KEEP)
    old = list(Delivery.objects.filter(done=True, created__lt=before).values_list("pk", flat=True)[:limit])
    if old:
        Delivery.objects.filter(pk__in=old).delete()
    return len(old)


def claim(delivery_id: int) -> Delivery | None:
    """Take the delivery for one attempt if it is still due (a conditional UPDATE, so exactly
    one thread of one process gets it): its next attempt moves past the end of this one."""
    now = timezone.now()
    claimed_until = now + timedelta(seconds=settings.ALERT_WEBHOOK_TIMEOUT + CLAIM_MARGIN)
    if not Delivery.objects.filter(pk=delivery_id, done=False, next_at__lte=now).update(next_at=claimed_until):
        return None
    return Delivery.objects.select_related("alert").filter(pk=delivery_id).first()


def attempt(delivery_id: int) -> None:
    """Try one delivery once (on a delivery thread) and store what came of it; nothing when it
    is no longer due (done, or claimed by another attempt)."""
    delivery = claim(delivery_id)
    if delivery is None:
        return
    alert = delivery.alert
    ok, outcome = (
        post_webhook(alert, delivery.body, delivery.pk)
        if delivery.kind == Delivery.WEBHOOK
        else send_email(alert, delivery.body, delivery.pk)
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


def post_webhook(alert: Alert, body: str, delivery_id: int, resolver: Resolver = resolve) -> tuple[bool, str]:
    """POST the signed body to the alert's webhook: (delivered, what came of it)."""
    try:
        addresses = check_webhook_target(alert.webhook, settings.ALERT_WEBHOOK_HOSTS, resolver)
    except TargetRefused as exc:
        return False, f"refused: {exc}"
    parts = urlsplit(alert.webhook)
    https = parts.scheme == "https"
    kind = PinnedHTTPSConnection if https else PinnedConnection
    host = str(parts.hostname)
    connection = kind(host, parts.port or (443 if https else 80), addresses, settings.ALERT_WEBHOOK_TIMEOUT)
    data = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "plotserver-alerts",
        SIGNATURE_HEADER: sign(data, alert.webhook_secret),
        DELIVERY_HEADER: str(delivery_id),
    }
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # ALERT_WEBHOOK_TIMEOUT bounds the whole request (connecting, sending, the answer's head),
    # not only each socket operation.
    deadline = threading.Timer(settings.ALERT_WEBHOOK_TIMEOUT, connection.expire)
    deadline.daemon = True
    deadline.start()
    try:
        connection.request("POST", path, body=data, headers=headers)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if connection.expired or isinstance(exc, TimeoutError):
            return (
                False,
                f"error: timed out (no answer within ALERT_WEBHOOK_TIMEOUT, {settings.ALERT_WEBHOOK_TIMEOUT:g} s)",
            )
        return False, f"error: {exc}"[:OUTCOME_CHARS]
    finally:
        deadline.cancel()
        connection.close()
    return 200 <= status < 300, f"HTTP {status}"


def send_email(alert: Alert, body: str, delivery_id: int) -> tuple[bool, str]:
    """Mail the transition to the alert's addresses through Django's mail settings."""
    message = json.loads(body)
    subject = (
        f"plotserver alert {alert.pk} {message['state']}: plot {alert.plot_id} trace {alert.trace} {alert.condition}"
    )
    text = "\n".join(f"{key}: {value}" for key, value in message.items())
    try:
        EmailMessage(
            subject, text, settings.DEFAULT_FROM_EMAIL, list(alert.emails), headers={DELIVERY_HEADER: str(delivery_id)}
        ).send()
    except Exception as exc:  # SMTP errors are many kinds of exception
        return False, f"error: {exc}"[:OUTCOME_CHARS]
    return True, "sent"
