"""Upgrading carries the alerts timer's old lease (TimerLease) over to ProcessLease "alerts": an
upgraded process waits out the old holder instead of running the timer beside it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("alerts", "0001_initial"), ("plots", "0012_process_lease_and_mqtt_topic")]
AFTER = [("alerts", "0002_timer_lease_is_a_process_lease")]


def test_the_old_holders_timer_lease_becomes_the_alerts_process_lease():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    until = timezone.now() + timedelta(seconds=10)
    old.get_model("alerts", "TimerLease").objects.create(name="timer", holder="old-process", until=until)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    lease = new.get_model("plots", "ProcessLease").objects.get(name="alerts")
    assert (lease.holder, lease.until) == ("old-process", until)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
