"""The alerts' timer, one a process, started by the lifespan (plotserver/lifespan.py).

In every process, every TICK: the threshold rules are loaded again when they changed (and every
RULES_EVERY anyway: alerts made through another process), values held for `for_seconds` fire,
and the transitions the batch watcher found are recorded (alerts/transitions.py); every
VALUES_EVERY, the alerts' last values are stored.

In exactly one process, the holder of the timer lease (core.models.ProcessLease "alerts", renewed every
LEASE / 3 on a thread of its own, handed over at a clean stop, taken over LEASE after a crash): silence is checked every
SILENCE_EVERY (a query over every silence alert), so it fires about a second late at most, and
the deliveries that are due are tried every TICK. All state is in the
database, so a restart neither loses a firing nor repeats one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connections, models

from alerts import delivery
from alerts.evaluation import EVALUATOR, THRESHOLD_CONDITIONS, Rule
from alerts.models import Alert
from alerts.rules import FIRING, SILENCE, Transition, silence_transition
from alerts.transitions import NotRecorded, record_transitions, store_values
from base import metrics
from base.rate_limited_log import RateLimitedLog
from core.models import ProcessLease, Trace
from streaming.committer import OUTAGE_ERRORS

log = logging.getLogger("plotserver.alerts")
_failures = RateLimitedLog(log)

TICK = 0.25
SILENCE_EVERY = 1.0
RULES_EVERY = 2.0
# How often the threshold alerts' last values are stored: a write beside the streams' commits,
# kept rare (on SQLite every write takes the one write lock).
VALUES_EVERY = 2.0
LEASE = timedelta(seconds=10)
LEASE_NAME = "alerts"
# How often the lease holder forgets finished deliveries past ALERT_DELIVERY_KEEP.
PURGE_EVERY = 60.0


def load_rules() -> list[Rule]:
    rows = Alert.objects.filter(condition__in=THRESHOLD_CONDITIONS).values_list(
        "pk", "plot_id", "trace", "condition", "threshold", "for_seconds", "state"
    )
    return [
        Rule(pk, plot, trace, cond, threshold or 0.0, for_seconds, state)
        for pk, plot, trace, cond, threshold, for_seconds, state in rows
    ]


def hold_lease(holder: str) -> bool:
    """Take or renew the timer lease; True while this process holds it."""
    return ProcessLease.hold(LEASE_NAME, holder, LEASE)


def release_lease(holder: str) -> None:
    ProcessLease.release(LEASE_NAME, holder)


def check_silence() -> int:
    """Move each silence alert whose stream fell silent (or spoke again); how many moved."""
    now = time.time()
    tokens = Trace.objects.filter(plot_id=models.OuterRef("plot_id"), index=models.OuterRef("trace"))
    rows = Alert.objects.filter(condition=SILENCE).annotate(
        last_write=models.Subquery(tokens.values("stream_token__last_write_at")[:1])
    )
    moves = []
    fields = ("pk", "state", "seconds", "created", "last_write", "since")
    for pk, state, seconds, created, last_write, since in rows.values_list(*fields):
        if since is not None and now - since.timestamp() < settings.ALERT_MIN_INTERVAL:
            continue  # too soon after its last transition (ALERT_MIN_INTERVAL): settled later
        # Silent since its stream's last line, or since the alert was made if later.
        last = max(t for t in (created, last_write) if t is not None).timestamp()
        fired_at = since.timestamp() if since is not None and state == FIRING else None
        move = silence_transition(pk, state, seconds or 0.0, last, now, fired_at)
        if move is not None:
            moves.append(move)
    if not moves:
        return 0
    try:
        return record_transitions(moves)
    except NotRecorded as stopped:
        raise stopped.outage from None  # the outage: the next check finds them silent again


def count_firing() -> int:
    return Alert.objects.filter(state=FIRING).count()


class AlertTimer:
    """This process's alerts timer (see the module's docstring)."""

    def __init__(self) -> None:
        self.holder = uuid.uuid4().hex
        self.holding = False
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plotserver-alerts")
        # The lease is kept on a thread of its own: a long tick (many transitions to record)
        # never lets it run out while this process still acts as its holder.
        self._lease_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plotserver-alerts-lease")
        self._lease_task: asyncio.Task[None] | None = None
        self._senders = ThreadPoolExecutor(
            max_workers=settings.ALERT_DELIVERY_THREADS, thread_name_prefix="plotserver-alert-delivery"
        )
        self._sending: set[int] = set()
        self._in_flight: set[asyncio.Future[Any]] = set()
        self._task: asyncio.Task[None] | None = None

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._thread, _in_thread, function, args)

    async def start(self) -> None:
        """Tick from now on: the first tick loads the rules, before a stream opened here can
        have committed a batch (a start never waits for a database that is away)."""
        self._task = asyncio.create_task(self.run(), name="plotserver-alerts")
        self._lease_task = asyncio.create_task(self._keep_lease(), name="plotserver-alerts-lease")

    async def _on_lease_thread(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._lease_thread, _in_thread, function, args)

    async def _keep_lease(self) -> None:
        """Take the lease (tried every TICK while another holds it) or renew it (every LEASE / 3)."""
        while True:
            try:
                self.holding = await self._on_lease_thread(hold_lease, self.holder)
                metrics.ALERTS_FIRING.set(await self._on_lease_thread(count_firing))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the lease may run out: this process stops acting as its holder
                self.holding = False
                _failures.warning("lease", f"the alerts' timer cannot renew its lease ({exc!r}); trying again")
            await asyncio.sleep(LEASE.total_seconds() / 3 if self.holding else TICK)

    async def _load(self) -> None:
        # What the evaluator moved before `read_at` is stored before the rules are read, and
        # what it moves after is kept over what they say: a read never undoes a transition.
        read_at = time.monotonic()
        EVALUATOR.stale = False
        if transitions := EVALUATOR.take_transitions():
            await self._record(transitions)
        EVALUATOR.load(await self._run(load_rules), read_at)

    async def _record(self, transitions: list[Transition]) -> None:
        try:
            recorded = await self._run(record_transitions, transitions)
        except NotRecorded as stopped:
            EVALUATOR.put_back(stopped.rest)  # recorded once the database is back
            raise stopped.outage from None  # the outage, told once an interval by run()
        if recorded:
            metrics.ALERTS_FIRING.set(await self._run(count_firing))

    async def run(self) -> None:
        loaded = values_stored = purged = silence_checked = time.monotonic()
        while True:
            try:
                now = time.monotonic()
                if EVALUATOR.stale or now - loaded >= RULES_EVERY:
                    await self._load()
                    loaded = now
                EVALUATOR.tick(time.time())
                if now - values_stored >= VALUES_EVERY:
                    values_stored = now
                    if values := EVALUATOR.take_values():
                        await self._run(store_values, values)
                if transitions := EVALUATOR.take_transitions():
                    await self._record(transitions)
                if self.holding:
                    if now - silence_checked >= SILENCE_EVERY:
                        silence_checked = now
                        if await self._run(check_silence):
                            metrics.ALERTS_FIRING.set(await self._run(count_firing))
                    await self._deliver()
                    if now - purged >= PURGE_EVERY:
                        purged = now
                        await self._run(delivery.purge)
            except asyncio.CancelledError:
                raise
            except OUTAGE_ERRORS as exc:
                _failures.warning("outage", f"the alerts' timer cannot reach the database ({exc}); trying again")
            except Exception:
                _failures.warning("failure", "the alerts' timer failed; trying again", exc_info=True)
            await asyncio.sleep(TICK)

    async def _deliver(self) -> None:
        room = settings.ALERT_DELIVERY_THREADS * 2 - len(self._sending)
        if room <= 0:
            return
        loop = asyncio.get_running_loop()
        for delivery_id in await self._run(delivery.due, room, set(self._sending)):
            self._sending.add(delivery_id)
            future = loop.run_in_executor(self._senders, _attempt_and_let_go, delivery_id)
            self._in_flight.add(future)
            future.add_done_callback(self._in_flight.discard)
            future.add_done_callback(partial(self._sent, delivery_id))

    def _sent(self, delivery_id: int, future: asyncio.Future[Any]) -> None:
        self._sending.discard(delivery_id)
        error = None if future.cancelled() else future.exception()
        if isinstance(error, OUTAGE_ERRORS):
            _failures.warning("outage", f"alert delivery {delivery_id} waits for the database ({error})")
        elif error is not None:
            _failures.warning("delivery", f"alert delivery {delivery_id} failed: {error!r}")

    async def stop(self) -> None:
        """Stop ticking, wait at most ALERT_WEBHOOK_TIMEOUT for the attempts in flight, and hand
        the lease over (another process takes it at once; a row still being tried stays claimed,
        alerts.delivery.claim, so it is not sent twice)."""
        for task in (self._task, self._lease_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=settings.ALERT_WEBHOOK_TIMEOUT)
        transitions, values = EVALUATOR.take_transitions(), EVALUATOR.take_values()  # what the last commits found
        with contextlib.suppress(Exception):
            if values:
                await self._run(store_values, values)
            if transitions:
                await self._run(record_transitions, transitions)
        with contextlib.suppress(Exception):
            # On the lease's thread: after any renewal still running there.
            await self._on_lease_thread(release_lease, self.holder)
        with contextlib.suppress(Exception):
            await self._on_lease_thread(connections.close_all)
        await asyncio.to_thread(self._lease_thread.shutdown, wait=True)
        self._senders.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            await self._run(connections.close_all)
        await asyncio.to_thread(self._thread.shutdown, wait=True)  # off the event loop


def _in_thread(function: Any, args: tuple[Any, ...]) -> Any:
    """Run one step of the timer (or its lease) on its thread, and give the thread's database
    connection back after it: a few steps a second borrow one from the pool, and an idle
    process holds no more than the pool keeps (DATABASE_POOL_MAX_IDLE, docs/deployment.md)."""
    try:
        return function(*args)
    finally:
        connections.close_all()


def _attempt_and_let_go(delivery_id: int) -> None:
    """One delivery attempt on a delivery thread, its database connection given back after it
    (DATABASE_POOL_SIZE, docs/deployment.md)."""
    try:
        delivery.attempt(delivery_id)
    finally:
        connections.close_all()
