"""Start and stop what a plotserver process runs beside its requests.

On startup: a check of the Redis hosts (and the renewal of their shard positions), the pipeline,
the stream listener when STREAM_PORT is set, the history pruning job (history/pruning.py), the
alerts' timer (alerts/timer.py), the MQTT subscriber when MQTT_URL is set (mqtt/subscriber.py),
and a SIGTERM/SIGINT hook. On shutdown, besides, the Chromium that draws images
(images/renderer.py), when one was started.
The hook matters because a stream never ends by itself: without it, the server would wait for
every open stream forever (or cancel it after its graceful timeout, answering 500). With it,
every open stream commits what it accepted and is answered 503 "reconnect" at once, and the
server then stops as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, LifespanScope
from django.conf import settings
from django.db import connections
from django.utils import timezone

from alerts.timer import AlertTimer
from base import redis_hosts
from base.timeouts import within
from history.pruning import prune_loop
from images.renderer import POOL as IMAGE_RENDERERS
from mqtt.subscriber import MqttSubscriber
from streaming import leases
from streaming.committer import OUTAGE_ERRORS
from streaming.pipeline import Pipeline, get_pipeline

if TYPE_CHECKING:
    from streaming.listener import StreamListener

log = logging.getLogger("plotserver.streaming")

# The cyclic garbage collector's thresholds in a serving process (Python's are 700, 10, 10).
# A full collection walks every object the process holds, and a busy ingest holds many: the
# lines accepted and not yet committed (up to MAX_BACKLOG), each a few small dicts and lists.
# At Python's thresholds a busy process spent much of its CPU in full collections, the event loop
# stopped (measured: docs/performance.md, "Numbers behind the constants in the code").
# Young collections still free short-lived cycles at once; a full one still comes, after about
# ten million allocations (every minute or two at full ingest) instead of seventy thousand.
GC_THRESHOLDS = (10_000, 10, 100)


# The stop hook's task, held until it is done.
_stopping: set[asyncio.Task[None]] = set()


def tune_garbage_collector() -> None:
    """What startup made (Django, the apps) lives as long as the process: frozen out of the
    collector's way. Then collections rarer than Python's default (GC_THRESHOLDS)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class Lifespan:
    async def __call__(self, scope: LifespanScope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        listener: StreamListener | None = None
        pruner: asyncio.Task[None] | None = None
        forgetting: asyncio.Task[None] | None = None
        positions: asyncio.Task[None] | None = None
        alert_timer: AlertTimer | None = None
        mqtt_subscriber: MqttSubscriber | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    positions = await check_redis()
                    pipeline = await get_pipeline()
                    if not settings.REDIS_HOSTS:
                        # Processes on the embedded default coordinate only through the
                        # database; with Redis, a crashed process's streams are taken over by
                        # their next connection (and a live one whose lease ran out while the
                        # database was away keeps its streams).
                        forgetting = asyncio.create_task(
                            forget_connections_once_reachable(pipeline, timezone.now()),
                            name="plotserver-forget-connections",
                        )
                    mqtt_subscriber = MqttSubscriber()
                    install_stop_hook(pipeline, mqtt_subscriber)
                    pruner = asyncio.create_task(prune_loop(pipeline.run_sync), name="plotserver-history-pruning")
                    alert_timer = AlertTimer()
                    await alert_timer.start()
                    await mqtt_subscriber.start()
                    tune_garbage_collector()
                    if settings.STREAM_PORT:
                        from streaming.listener import start_listener

                        listener = await start_listener(settings.STREAM_HOST, settings.STREAM_PORT)
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                pipeline = await get_pipeline()
                if mqtt_subscriber is not None:
                    try:  # no new message from here on; those taken are written before the streams end
                        await mqtt_subscriber.stop()
                    except Exception:
                        log.exception("the MQTT subscriber did not stop cleanly")
                pipeline.end_streams()
                for task in (pruner, forgetting, positions):
                    if task is not None:
                        task.cancel()
                if listener is not None:
                    await listener.close()
                await pipeline.shutdown()
                await asyncio.to_thread(IMAGE_RENDERERS.close)  # Chromium, if an image started it
                if alert_timer is not None:
                    try:
                        await alert_timer.stop()  # after the last commits: their transitions are recorded
                    except Exception:  # the pools are closed and the shutdown answered all the same
                        log.exception("the alerts' timer did not stop cleanly")
                close_database_pools()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def check_redis() -> asyncio.Task[None] | None:
    """Refuse to start with Redis hosts that cannot be right: sentinels that monitor no master of
    the name given, a password refused, or shards another process lists in another order
    (base/redis_hosts.py). Redis away at start is an outage, not a mistake: the process starts,
    and the channel layer joins once it is back. Returns the task that keeps this process's shard
    positions claimed."""
    hosts = settings.REDIS_HOSTS
    if not hosts:
        return None
    timeout = settings.CHANNEL_LAYER_TIMEOUT
    for host in hosts:
        await redis_hosts.check_master_known(host, timeout)
    positions = redis_hosts.shard_positions()
    if not await positions.claim():
        log.warning("Redis is away at start: viewers get no live updates until it answers")
    return asyncio.create_task(positions.keep(), name="plotserver-redis-shard-positions")


async def forget_connections_once_reachable(pipeline: Pipeline, started: datetime) -> None:
    """Mark the streams a crashed process held as disconnected (streaming/leases.py), as soon
    as the database answers (a server starts while its database is away, reporting not ready,
    /readyz 503, meanwhile), then once more when a lease has had time to run out: those of a
    process that crashed just before this one started. Another process's streams, on the same
    database, are its own: it renews their leases."""
    delay = 1.0
    while True:
        try:
            await pipeline.run_sync(leases.forget_connections, started)
            break
        except OUTAGE_ERRORS as exc:
            if delay == 1.0:
                log.warning("the database is unavailable at start (%s): retrying; /readyz says not ready", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
    await asyncio.sleep(leases.LEASE.total_seconds() + 1)
    with contextlib.suppress(*OUTAGE_ERRORS):  # the database away now: the takeovers will do it
        await pipeline.run_sync(leases.forget_connections, started)


def close_database_pools() -> None:
    """Close each PostgreSQL pool's connections as the process stops, rather than cut them off."""
    for alias in connections:
        close_pool = getattr(connections[alias], "close_pool", None)
        if close_pool is not None:
            close_pool()


async def stop_then_end_streams(pipeline: Pipeline, subscriber: MqttSubscriber) -> None:
    """The MQTT subscriber stops first (no message read and acknowledged from here on, those it
    holds given to their streams, its lease handed over), within MQTT_TIMEOUT +
    LINEPROTO_WRITE_TIMEOUT; then every open stream ends, storing what it took."""
    try:
        await within(subscriber.stop(), settings.MQTT_TIMEOUT + settings.LINEPROTO_WRITE_TIMEOUT)
    except Exception:
        log.exception("the MQTT subscriber did not stop cleanly")
    pipeline.end_streams()


def install_stop_hook(pipeline: Pipeline, subscriber: MqttSubscriber) -> None:
    """End open streams cleanly on SIGTERM/SIGINT (the MQTT subscriber stopped first), then let
    the server's own handler run."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        stopping = loop.create_task(stop_then_end_streams(pipeline, subscriber), name="plotserver-stop")
        _stopping.add(stopping)
        stopping.add_done_callback(_stopping.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        found = signal.getsignal(sig)
        if not callable(found):
            continue
        previous: Callable[[int, FrameType | None], Any] = found

        def handler(
            signum: int, frame: FrameType | None, previous: Callable[[int, FrameType | None], Any] = previous
        ) -> None:
            loop.call_soon_threadsafe(stop)
            previous(signum, frame)

        try:
            signal.signal(sig, handler)
        except ValueError:  # not the main thread: the embedding server handles signals
            return
