"""The rules of alerts, in process (alerts/rules.py, alerts/evaluation.py): how a batch's values
move a threshold alert (once per crossing, held for `for_seconds`), when a stream counts as
silent, how a webhook body is signed, and which webhook targets are refused (docs/alerts.md)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluation import Rule, ThresholdEvaluator, trace_values
from alerts.models import Alert
from alerts.rules import (
    FIRING,
    OK,
    BatchValues,
    TargetRefused,
    ThresholdState,
    Transition,
    batch_values,
    check_webhook_target,
    sign,
    silence_transition,
)
from alerts.timer import check_silence


def above(threshold: float, for_seconds: float = 0.0) -> ThresholdState:
    return ThresholdState(1, "above", threshold, for_seconds)


def states(transitions) -> list[str]:
    return [t.state for t in transitions]


def test_a_batch_is_summed_up_once_as_its_smallest_largest_and_last_number():
    values = batch_values([3, None, "x", 9.5, True, -1, 2], "b")
    assert (values.low, values.high, values.last, values.x) == (-1, 9.5, 2, "b")
    assert batch_values([None, "x"]) is None
    assert batch_values([float("nan"), 4]).high == 4


def test_a_threshold_fires_once_per_crossing_and_resolves_when_the_value_comes_back():
    alert = above(50)
    assert states(alert.observe(batch_values([10, 20]), 0)) == []
    fired = alert.observe(batch_values([40, 63.2, 70]), 1)
    assert states(fired) == [FIRING] and fired[0].value == 70
    assert states(alert.observe(batch_values([80, 90]), 2)) == []  # still firing: no repeat
    assert states(alert.observe(batch_values([49]), 3)) == [OK]
    assert states(alert.observe(batch_values([51]), 4)) == [FIRING]  # a second crossing


def test_a_batch_that_crosses_and_comes_back_fires_and_resolves():
    alert = above(50)
    assert states(alert.observe(batch_values([10, 99, 10]), 0)) == [FIRING, OK]


def test_below_compares_the_smallest_value():
    alert = ThresholdState(2, "below", 0, 0)
    fired = alert.observe(batch_values([5, -3]), 0)
    assert states(fired) == [FIRING] and fired[0].value == -3
    assert states(alert.observe(batch_values([1]), 1)) == [OK]


def test_for_seconds_fires_only_once_the_value_stayed_past_the_threshold_that_long():
    alert = above(50, for_seconds=10)
    assert states(alert.observe(batch_values([60]), 100)) == []
    assert states(alert.observe(batch_values([10]), 105)) == []  # came back: the wait starts over
    assert states(alert.observe(batch_values([60]), 106)) == []
    assert states(alert.tick(115)) == []
    assert states(alert.tick(116)) == [FIRING]  # no new batch needed: the timer ticks
    assert states(alert.tick(130)) == []


def test_silence_fires_after_its_seconds_and_resolves_at_the_next_line():
    assert silence_transition(1, OK, 30, last_line=100, now=129) is None
    fired = silence_transition(1, OK, 30, last_line=100, now=131)
    assert (fired.state, fired.value) == (FIRING, 31)
    assert silence_transition(1, FIRING, 30, last_line=100, now=200) is None
    assert silence_transition(1, FIRING, 30, last_line=201, now=201.5).state == OK


def test_a_line_written_after_silence_fired_resolves_it_even_if_the_timer_looks_only_once_silent_again():
    assert silence_transition(1, FIRING, 1, last_line=100, now=105, fired_at=101) is None
    resolved = silence_transition(1, FIRING, 1, last_line=102, now=105, fired_at=101)
    assert (resolved.state, resolved.value) == (OK, 3)
    assert silence_transition(1, OK, 1, last_line=102, now=106).state == FIRING  # and fires again


def test_the_evaluator_reads_each_watched_trace_of_a_batch_and_keeps_states_it_moved():
    evaluator = ThresholdEvaluator()
    evaluator.load([Rule(7, plot_id=3, trace=0, condition="above", threshold=50, for_seconds=0, state=OK)], 0.0)

    class Chunk:
        plots = {
            3: {
                "traces": {"0": 30},
                "updates": [
                    {"traces": {"0": {"extend": {"x": [1], "y": [10]}}}},
                    {"traces": {"0": {"extend": {"x": [2], "y": [60]}}}},
                ],
            },
            4: {"traces": {"0": 40}, "updates": [{"traces": {"0": {"extend": {"y": [1000]}}}}]},
        }

    from datetime import UTC, datetime

    evaluator.observe([Chunk()], datetime.now(UTC))
    transitions, values = evaluator.take_transitions(), evaluator.take_values()
    assert [(t.alert_id, t.state, t.value, t.x) for t in transitions] == [(7, FIRING, 60.0, 2)]
    assert values == {7: 60.0}
    # The database, read before the transition was stored, still says ok: the evaluator keeps firing.
    evaluator.load([Rule(7, 3, 0, "above", 50, 0, OK)], read_at=0.0)
    assert evaluator.states[7].state == FIRING
    assert trace_values([{"traces": {"1": {"set": {"y": [5, 6]}}}}], "1").last == 6


def test_transitions_not_recorded_for_an_outage_go_back_first_in_line_within_the_bound(monkeypatch):
    import alerts.evaluation

    monkeypatch.setattr(alerts.evaluation, "MAX_PENDING", 3)
    evaluator = ThresholdEvaluator()
    evaluator.pending = [Transition(3, FIRING, 1.0, 0.0)]
    evaluator.put_back([Transition(1, FIRING, 1.0, 0.0), Transition(2, OK, 1.0, 0.0), Transition(4, OK, 1.0, 0.0)])
    assert [t.alert_id for t in evaluator.take_transitions()] == [1, 2, 4]


def test_the_signature_is_the_hex_hmac_sha256_of_the_body():
    body = b'{"alert":1}'
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert sign(body, "secret") == f"sha256={expected}"


def test_crossings_within_alert_min_interval_are_folded_into_the_state_the_last_value_calls_for():
    alert = ThresholdState(1, "above", 50, 0, min_interval=10)
    assert [(t.state, t.value) for t in alert.observe(BatchValues(60, 60, 60), 0)] == [(FIRING, 60)]
    for at, y in ((1, 40), (2, 70), (5, 30)):  # flapping: nothing sent
        assert alert.observe(BatchValues(y, y, y), at) == []
    assert alert.tick(9) == []
    assert [(t.state, t.value, t.at) for t in alert.tick(10)] == [(OK, 30, 10)]
    assert alert.observe(BatchValues(80, 80, 80), 11) == []
    assert alert.observe(BatchValues(20, 20, 20), 12) == []  # back again before the time is up
    assert alert.tick(30) == []  # its last value is below: nothing to settle


def test_a_silence_alert_moves_no_sooner_than_alert_min_interval_after_its_last_move(db, alice, alices_plot, settings):
    settings.ALERT_MIN_INTERVAL = 60
    made = timezone.now() - timedelta(hours=1)
    alert = Alert.objects.create(
        owner=alice, plot=alices_plot, trace=0, condition="silence", seconds=1, created=made, since=timezone.now()
    )
    assert check_silence() == 0
    Alert.objects.filter(pk=alert.pk).update(since=made)
    assert check_silence() == 1


def resolver(addresses):
    return lambda host, port: addresses


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["::1"], ["169.254.169.254"], ["fe80::1"], ["fd00:ec2::254"], ["0.0.0.0"], ["::ffff:127.0.0.1"]],
)
def test_loopback_link_local_and_metadata_targets_are_refused(addresses):
    with pytest.raises(TargetRefused):
        check_webhook_target("http://hooks.example.com/x", [], resolver(addresses))


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "203.0.113.5",
        "fc00::1",
        "fd12:3456::1",
        "64:ff9b::a9fe:a9fe",  # NAT64 to 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 from 169.254.169.254
        "::ffff:10.0.0.1",
    ],
)
def test_an_address_that_is_not_public_is_refused_unless_listed(address):
    with pytest.raises(TargetRefused, match="ALERT_WEBHOOK_HOSTS"):
        check_webhook_target("http://hooks.example.com/x", [], resolver([address]))
    check_webhook_target("http://hooks.example.com/x", ["10.0.0.0/8", "::/0", "0.0.0.0/0"], resolver([address]))


def test_public_addresses_are_allowed_even_behind_nat64():
    for address in ("93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822"):
        check_webhook_target("http://hooks.example.com/x", [], resolver([address]))


def test_every_address_of_the_host_is_checked():
    with pytest.raises(TargetRefused, match=r"127\.0\.0\.1"):
        check_webhook_target("https://hooks.example.com/", [], resolver(["93.184.216.34", "127.0.0.1"]))


def test_listed_hosts_and_networks_are_allowed():
    check_webhook_target("https://hooks.example.com/", [], resolver(["93.184.216.34"]))
    check_webhook_target("http://127.0.0.1:9000/", ["127.0.0.0/8"], resolver(["127.0.0.1"]))
    check_webhook_target("http://local.test/", ["local.test"], resolver(["::1"]))


def test_without_a_resolver_only_an_address_written_in_the_url_is_checked():
    assert check_webhook_target("https://nowhere.invalid/hook", [], resolver=None) == []
    for url in ("http://127.0.0.1:8000/", "http://[::1]/", "http://10.0.0.1/", "http://[64:ff9b::a9fe:a9fe]/"):
        with pytest.raises(TargetRefused):
            check_webhook_target(url, [], resolver=None)
    assert check_webhook_target("http://93.184.216.34/", [], resolver=None) == ["93.184.216.34"]


def test_a_webhook_is_an_http_url_without_credentials():
    for url in ("ftp://hooks.example.com/", "http:///x", "http://user:pw@hooks.example.com/"):
        with pytest.raises(TargetRefused):
            check_webhook_target(url, [], resolver(["93.184.216.34"]))
