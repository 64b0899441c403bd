"""Deliveries in process (alerts/delivery.py, alerts/transitions.py): a transition is recorded
once, leaves its annotation and owes one delivery per target; an e-mail goes through Django's
mail settings; a refused webhook is retried with backoff until ALERT_DELIVERY_RETRY_FOR, every
attempt in the alert's status (docs/alerts.md). The admin lists alerts."""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from alerts.delivery import attempt, claim, due, post_webhook, purge
from alerts.models import Alert, Delivery
from alerts.rules import FIRING, OK, Transition
from alerts.transitions import record_transitions
from core.models import Annotation

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(alice, alices_plot):
    return Alert.objects.create(
        owner=alice,
        plot=alices_plot,
        trace=0,
        condition="above",
        threshold=50,
        webhook="http://127.0.0.1:9/hook",  # loopback, not listed: every attempt is refused
        emails=["ops@example.com"],
    )


def test_a_transition_is_recorded_once_with_its_annotation_and_deliveries(alert):
    fired = Transition(alert.pk, FIRING, 63.2, time.time(), x=7)
    assert record_transitions([fired, fired]) == 1
    alert.refresh_from_db()
    assert (alert.state, alert.last_value) == (FIRING, 63.2)
    [note] = Annotation.objects.filter(plot=alert.plot)
    assert (note.text, note.x, note.trace) == ("above 50: 63.2", 7, 0)
    assert sorted(Delivery.objects.values_list("kind", flat=True)) == ["email", "webhook"]
    assert record_transitions([Transition(alert.pk, OK, 40, time.time())]) == 1
    assert Annotation.objects.filter(plot=alert.plot).count() == 2


def test_a_transition_that_fails_costs_only_itself(alert, alice, alices_plot):
    other = Alert.objects.create(owner=alice, plot=alices_plot, trace=0, condition="below", threshold=10)
    broken = Transition(alert.pk, FIRING, 63.2, 1e20)  # a time no datetime holds: it raises
    assert record_transitions([broken, Transition(other.pk, FIRING, 3.0, time.time())]) == 1
    alert.refresh_from_db()
    other.refresh_from_db()
    assert (alert.state, other.state) == (OK, FIRING)
    assert not Delivery.objects.filter(alert=alert).exists()


def test_a_transition_of_a_deleted_plots_alert_records_nothing(alert, alices_plot):
    alices_plot.delete()
    assert record_transitions([Transition(alert.pk, FIRING, 63.2, time.time())]) == 0


def test_an_email_goes_through_djangos_mail_settings(alert):
    record_transitions([Transition(alert.pk, FIRING, 63.2, time.time())])
    attempt(Delivery.objects.get(kind=Delivery.EMAIL).pk)
    [sent] = mail.outbox
    assert sent.to == ["ops@example.com"] and "firing" in sent.subject and "value: 63.2" in sent.body
    assert sent.extra_headers["X-Plotserver-Delivery"] == str(Delivery.objects.get(kind=Delivery.EMAIL).pk)
    assert Delivery.objects.get(kind=Delivery.EMAIL).done


def test_a_refused_webhook_is_retried_with_backoff_then_given_up(alert, settings):
    settings.ALERT_DELIVERY_RETRY_FIRST = 1.0
    record_transitions([Transition(alert.pk, FIRING, 63.2, time.time())])
    delivery = Delivery.objects.get(kind=Delivery.WEBHOOK)
    attempt(delivery.pk)
    attempt(delivery.pk)  # not due yet: nothing
    Delivery.objects.filter(pk=delivery.pk).update(next_at=timezone.now())
    attempt(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.done) == (2, False)
    assert delivery.outcome.startswith("refused: ") and "loopback" in delivery.outcome
    assert delivery.next_at - timezone.now() > timedelta(seconds=1.5)  # 1 s, then 2 s
    Delivery.objects.filter(pk=delivery.pk).update(created=timezone.now() - timedelta(hours=2), next_at=timezone.now())
    attempt(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.done and delivery.outcome.startswith("gave up after 3 attempts")
    alert.refresh_from_db()
    assert [(a["attempt"], a["ok"], a["next"] is None) for a in alert.delivery] == [
        (1, False, False),
        (2, False, False),
        (3, False, True),
    ]


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 in this process: keeps each POST's Host and delivery id."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hosts.append((self.headers["Host"], self.headers["X-Plotserver-Delivery"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hosts
    server.shutdown()
    server.server_close()


def test_the_post_goes_to_the_address_that_was_checked_not_to_a_second_look_up(alert, receiver, settings):
    """DNS rebinding: the name is looked up once, for the check, and the POST connects to that
    address (rebind.invalid resolves nowhere else) with the name as its Host."""
    port, hosts = receiver
    settings.ALERT_WEBHOOK_HOSTS = ["127.0.0.1"]
    alert.webhook = f"http://rebind.invalid:{port}/hook"
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])  # a second look-up would answer elsewhere
    assert post_webhook(alert, '{"state":"firing"}', 7, lambda host, port: next(answers)) == (True, "HTTP 204")
    assert hosts == [(f"rebind.invalid:{port}", "7")]


def test_a_look_up_that_rebinds_to_a_refused_address_is_refused_before_connecting(alert, receiver):
    port, hosts = receiver
    alert.webhook = f"http://rebind.invalid:{port}/hook"
    ok, outcome = post_webhook(alert, '{"state":"firing"}', 7, lambda host, port: ["93.184.216.34", "127.0.0.1"])
    assert not ok and outcome.startswith("refused: ") and hosts == []


@pytest.fixture
def dripping():
    """A target on 127.0.0.1 that answers one byte of its head every 0.1 s, for ever: no socket
    operation ever waits long, the whole answer never comes."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            while not stop.wait(0.1):
                try:
                    connection.sendall(b"X")
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_a_webhook_answering_a_byte_at_a_time_is_cut_at_alert_webhook_timeout(alert, dripping, settings):
    settings.ALERT_WEBHOOK_HOSTS = ["127.0.0.1"]
    settings.ALERT_WEBHOOK_TIMEOUT = 0.5
    alert.webhook = f"http://127.0.0.1:{dripping}/hook"
    ok, outcome = post_webhook(alert, '{"state":"firing"}', 7)
    assert not ok and "no answer within ALERT_WEBHOOK_TIMEOUT" in outcome


def test_one_users_deliveries_take_at_most_alert_delivery_per_user_at_once(alert, bob, settings):
    settings.ALERT_DELIVERY_PER_USER = 1
    for _ in range(2):  # two transitions of alice's: four deliveries
        Delivery.objects.create(alert=alert, kind=Delivery.WEBHOOK, body="{}")
        Delivery.objects.create(alert=alert, kind=Delivery.EMAIL, body="{}")
    bobs = Alert.objects.create(owner=bob, plot=alert.plot, trace=0, condition="above", threshold=1)
    bobs_delivery = Delivery.objects.create(alert=bobs, kind=Delivery.EMAIL, body="{}")
    alices = list(Delivery.objects.filter(alert=alert).values_list("pk", flat=True))
    assert due(10, set()) == [alices[0], bobs_delivery.pk]
    assert due(10, {alices[0]}) == [bobs_delivery.pk]  # alice's one is being tried


def test_a_delivery_is_claimed_by_one_attempt_only(alert):
    """Two timers (a lease handed over mid-attempt) or two threads: the second claim of a row
    being tried gets nothing, so nothing is sent twice."""
    record_transitions([Transition(alert.pk, FIRING, 63.2, time.time())])
    delivery = Delivery.objects.get(kind=Delivery.EMAIL)
    assert claim(delivery.pk) is not None
    assert claim(delivery.pk) is None
    attempt(delivery.pk)
    assert mail.outbox == [] and Delivery.objects.get(pk=delivery.pk).attempts == 0


def test_finished_deliveries_are_forgotten_after_alert_delivery_keep(alert, settings):
    settings.ALERT_DELIVERY_KEEP = 3600
    long_ago = timezone.now() - timedelta(hours=2)
    old_done = Delivery.objects.create(alert=alert, kind=Delivery.EMAIL, body="{}", done=True, created=long_ago)
    old_waiting = Delivery.objects.create(alert=alert, kind=Delivery.EMAIL, body="{}", created=long_ago)
    recent_done = Delivery.objects.create(alert=alert, kind=Delivery.EMAIL, body="{}", done=True)
    assert purge() == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {old_waiting.pk, recent_done.pk}
    assert not Delivery.objects.filter(pk=old_done.pk).exists()


def test_one_user_cannot_fill_the_delivery_queue(alert, bob, settings):
    settings.ALERT_DELIVERY_QUEUE_PER_USER = 3
    record_transitions([Transition(alert.pk, FIRING, 63.2, time.time())])  # two deliveries wait
    record_transitions([Transition(alert.pk, OK, 40, time.time())])  # two more: past alice's share
    assert Delivery.objects.filter(done=False).count() == 2
    assert Delivery.objects.filter(outcome__contains="ALERT_DELIVERY_QUEUE_PER_USER").count() == 2
    bobs = Alert.objects.create(
        owner=bob, plot=alert.plot, trace=0, condition="above", threshold=1, emails=["b@example.com"]
    )
    record_transitions([Transition(bobs.pk, FIRING, 3, time.time())])
    assert Delivery.objects.filter(alert=bobs, done=False).count() == 1


def test_the_admin_lists_alerts(admin_client, alert):
    page = admin_client.get("/admin/alerts/alert/")
    assert page.status_code == 200 and b"above" in page.content
    assert admin_client.get(f"/admin/alerts/alert/{alert.pk}/change/").status_code == 200
