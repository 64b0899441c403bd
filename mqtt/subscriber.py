"""The MQTT subscriptions: one process holds them, feeds each message to the ingest core.

Every process runs a subscriber (started by the lifespan, plotserver/lifespan.py) when MQTT_URL
is set; only the holder of the lease "mqtt" (core.models.ProcessLease, renewed every LEASE / 3,
handed over at a clean stop, taken over LEASE after a crash) connects, so no message is stored
twice. It subscribes (QoS 1) to the topic of each token that has one, reads the topics again
every MQTT_RELOAD_EVERY seconds and at once when a token of this process changed, and
reconnects with a doubling backoff (up to MQTT_RECONNECT_MAX) whenever the broker goes away,
subscribing again by itself. Nothing waits on the broker: it runs on tasks of its own, and
readiness never asks about it.

Each message becomes lines of the stream of every token whose topic matches (mqtt/payloads.py),
and those lines are written to the token's stream as a line protocol series' are
(lineproto/writes.py: held open between messages; a write gathers what came meanwhile): the core
applies limits, rates, accounting, durable windows, history and live fan-out, and counts what
it rejects on the token. Messages wait for their token's write in a buffer bounded by
MQTT_BUFFER_BYTES; while it is full, messages stay in the client's queue (bounded by the same
size: past it, the client drops them and says so in the log).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from base.rate_limited_log import RateLimitedLog
from base.timeouts import within
from core.models import ProcessLease
from lineproto.writes import held_series
from mqtt.payloads import Lines, lines_of
from mqtt.routes import Routes, Subscription, load_subscriptions, refused, refused_topics
from streaming.committer import OUTAGE_ERRORS
from streaming.pipeline import get_pipeline

log = logging.getLogger("plotserver.mqtt")
_failures = RateLimitedLog(log)

LEASE = timedelta(seconds=10)
LEASE_NAME = "mqtt"
# How long before the lease runs out in the database this process stops acting as its holder.
LEASE_MARGIN = timedelta(seconds=2)
# How often a process that does not hold the lease asks for it.
LEASE_RETRY = 1.0
# The first wait before connecting again (doubled each failure, up to MQTT_RECONNECT_MAX).
RECONNECT_FIRST = 0.5
# How long a token's write that was not taken (the database away) waits to be tried again.
WRITE_RETRY = 1.0
# How long a token's first waiting message waits for more before they are written together: a
# write costs about as much as a few hundred points, and messages come one by one.
GATHER = 0.005


@dataclass(frozen=True, slots=True)
class Broker:
    hostname: str
    port: int
    username: str | None
    password: str | None
    tls: bool


def broker_of(url: str) -> Broker:
    """MQTT_URL read: mqtt://[user[:password]@]host[:port] (1883), or mqtts:// (TLS, 8883). A
    wrong one is named without its user and password: the message goes to the log."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        shown = parts._replace(netloc=f"…@{parts.netloc.rpartition('@')[2]}") if "@" in parts.netloc else parts
        raise ImproperlyConfigured(
            f"MQTT_URL must be mqtt://[user:password@]host[:port] or mqtts://…, not {shown.geturl()!r}"
        )
    tls = parts.scheme == "mqtts"
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return Broker(parts.hostname, parts.port or (8883 if tls else 1883), username, password, tls)


class ReceivedQueue(asyncio.Queue[aiomqtt.Message]):
    """The client's queue of messages received, bounded in bytes (MQTT_BUFFER_BYTES): past it the
    client drops a message (and logs it); one message always fits."""

    def __init__(self, maxsize: int = 0) -> None:
        super().__init__()
        self.size = 0

    def put_nowait(self, item: aiomqtt.Message) -> None:
        size = _size(item)
        if self.size + size > settings.MQTT_BUFFER_BYTES and self.qsize():
            raise asyncio.QueueFull
        self.size += size
        super().put_nowait(item)

    def get_nowait(self) -> aiomqtt.Message:
        item = super().get_nowait()
        self.size -= _size(item)
        return item


def _size(message: aiomqtt.Message) -> int:
    payload = message.payload
    return len(payload) if isinstance(payload, bytes | bytearray | str) else 8


class TokenFeed:
    """The lines of one token waiting for its stream, written in turn (each write takes all that
    waits): a slow write gathers the messages that come meanwhile into the next."""

    def __init__(self, subscriber: MqttSubscriber, sub: Subscription) -> None:
        self.subscriber = subscriber
        self.sub = sub
        self.lines: list[bytes] = []
        self.rejected: list[str] = []
        self.size = 0
        self.task: asyncio.Task[None] | None = None

    def add(self, parsed: Lines, size: int) -> None:
        self.lines.extend(parsed.lines)
        self.rejected.extend(parsed.rejected)
        self._hold(size)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._drain(), name=f"mqtt-token-{self.sub.token_id}")

    def _hold(self, size: int) -> None:
        self.size += size
        self.subscriber.buffered(size)

    async def _drain(self) -> None:
        while self.lines or self.rejected:
            await asyncio.sleep(GATHER)
            lines, rejected, size = self.lines, self.rejected, self.size
            self.lines, self.rejected, self.size = [], [], 0
            try:
                held = held_series(self.sub.token_id, self.sub.token)
                # Taken is enough: the core stores what its stream accepted, as for a producer's
                # lines (with the database away, its backlog's bound stops the taking).
                outcome = await held.write(lines, f"mqtt:{self.sub.topic}", tuple(rejected), wait_stored=False)
            except Exception:
                log.exception("MQTT messages of token %s could not be written", self.sub.token_id)
                self.subscriber.buffered(-size)
                continue
            stopping = outcome.status == 503 and self.subscriber.pipeline.stopping
            if outcome.status == 200 or outcome.status in (404, 410) or stopping:
                if outcome.status != 200:  # revoked, its plot deleted (the next reload drops it), or stopping
                    _failures.warning("gone", f"MQTT messages for token {self.sub.token_id} dropped: {outcome.message}")
                self.subscriber.buffered(-size)
                continue
            _failures.warning(
                "write", f"MQTT messages for token {self.sub.token_id} wait ({outcome.status} {outcome.message})"
            )
            if outcome.given and held.task is not None and not held.task.done():
                # Its stream still reads them (its pace, or the database away): they are taken in
                # turn, and given again they would be stored twice.
                self.subscriber.buffered(-size)
                await asyncio.sleep(WRITE_RETRY)
                continue
            # Never given (the write timed out waiting for the last one's lines to be read, or
            # for its stream to open), or its stream ended before taking them all (a producer
            # took it over): what was not taken is written again, first.
            self._put_back(lines[outcome.taken :], [] if outcome.given else rejected, size)
            await asyncio.sleep(WRITE_RETRY)

    def _put_back(self, rest: list[bytes], rejected: list[str], size: int) -> None:
        """Lines not taken go back before those that came meanwhile, as many as the token's
        buffer holds (MQTT_BUFFER_BYTES); the oldest past it are rejected on the token, saying so."""
        kept, dropped = sum(len(line) for line in rest), 0
        while dropped < len(rest) and kept + self.size > settings.MQTT_BUFFER_BYTES:
            kept -= len(rest[dropped])
            dropped += 1
        rest = rest[dropped:]
        full = (
            f"dropped: the MQTT messages waiting for this token fill MQTT_BUFFER_BYTES ({settings.MQTT_BUFFER_BYTES})"
        )
        self.subscriber.buffered(kept - size)
        self.lines, self.size = rest + self.lines, self.size + kept
        self.rejected = rejected + [full] * dropped + self.rejected


def _lease_step(holder: str) -> bool:
    """Take or renew the lease on its thread, the thread's database connection given back after."""
    try:
        return ProcessLease.hold(LEASE_NAME, holder, LEASE)
    finally:
        connections.close_all()


# This process's subscriber and its event loop, for tokens_changed.
_running: tuple[MqttSubscriber, asyncio.AbstractEventLoop] | None = None


def tokens_changed() -> None:
    """A token was saved or deleted in this process (a topic set, a token revoked): the
    subscriptions are read again now. Other processes' changes come with the next reload."""
    if _running is not None:
        subscriber, loop = _running
        with contextlib.suppress(RuntimeError):  # the loop closed
            loop.call_soon_threadsafe(subscriber.changed.set)


class MqttSubscriber:
    """This process's MQTT subscriber (see the module's docstring)."""

    def __init__(self) -> None:
        self.holder = uuid.uuid4().hex
        self.holding = False
        self.connected = False
        self.changed = asyncio.Event()
        self.routes = Routes([])
        self.subscribed: set[str] = set()
        self.feeds: dict[int, TokenFeed] = {}
        self._buffered = 0
        self._room = asyncio.Event()
        self._room.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._lease_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plotserver-mqtt-lease")

    async def start(self) -> None:
        """Run from now on, when MQTT_URL is set; never waits for the broker or the database."""
        if not settings.MQTT_URL:
            return
        global _running
        _running = self, asyncio.get_running_loop()
        self.broker = broker_of(settings.MQTT_URL)
        self.pipeline = await get_pipeline()
        self._tasks = [
            asyncio.create_task(self._keep_lease(), name="plotserver-mqtt-lease"),
            asyncio.create_task(self.run(), name="plotserver-mqtt"),
        ]

    def buffered(self, size: int) -> None:
        self._buffered += size
        if self._buffered > settings.MQTT_BUFFER_BYTES:
            self._room.clear()
        else:
            self._room.set()

    async def _keep_lease(self) -> None:
        """Take the lease or renew it, on a thread of its own (behind the commits, a renewal
        could come too late); held no longer than LEASE - LEASE_MARGIN after the last renewal
        began, even while a renewal hangs: by then another process may take it."""
        loop = asyncio.get_running_loop()
        renewed_at = -LEASE.total_seconds()
        while True:
            asked_at = time.monotonic()
            left = renewed_at + (LEASE - LEASE_MARGIN).total_seconds() - asked_at if self.holding else None
            try:
                renewal = loop.run_in_executor(self._lease_thread, _lease_step, self.holder)
                holding = await within(renewal, left) if left is None or left > 0 else False
                if holding:
                    renewed_at = asked_at
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                holding = False
                _failures.warning("lease", "the MQTT subscriber's lease ran out while renewing it; trying again")
            except Exception as exc:  # the lease may run out: this process lets go of the broker
                holding = False
                _failures.warning("lease", f"the MQTT subscriber cannot renew its lease ({exc!r}); trying again")
            if holding != self.holding:
                self.holding = holding
                self.changed.set()
            await asyncio.sleep(LEASE.total_seconds() / 3 if holding else LEASE_RETRY)

    def client(self) -> aiomqtt.Client:
        broker = self.broker
        return aiomqtt.Client(
            broker.hostname,
            broker.port,
            username=broker.username,
            password=broker.password,
            identifier=settings.MQTT_CLIENT_ID,
            clean_session=True,
            timeout=settings.MQTT_TIMEOUT,
            tls_context=ssl.create_default_context() if broker.tls else None,
            queue_type=ReceivedQueue,
            logger=log,
        )

    async def run(self) -> None:
        delay = RECONNECT_FIRST
        while True:
            if not self.holding:
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await within(self.changed.wait(), LEASE_RETRY)
                continue
            try:
                async with self.client() as client:
                    self.connected, self.subscribed = True, set()
                    log.info("connected to the MQTT broker %s:%s", self.broker.hostname, self.broker.port)
                    delay = RECONNECT_FIRST
                    await self._serve(client)
            except asyncio.CancelledError:
                raise
            except aiomqtt.MqttError as exc:
                _failures.warning("broker", f"the MQTT broker is away ({exc}); connecting again in {delay:g} s")
            except OUTAGE_ERRORS as exc:
                _failures.warning("outage", f"the MQTT subscriber cannot reach the database ({exc}); trying again")
            except Exception:
                _failures.warning("failure", "the MQTT subscriber failed; trying again", exc_info=True)
            finally:
                self.connected = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, settings.MQTT_RECONNECT_MAX)

    async def _serve(self, client: aiomqtt.Client) -> None:
        """Read messages while this process holds the lease; subscribe to what the tokens ask,
        every MQTT_RELOAD_EVERY and on a change. Raises MqttError when the broker goes away."""
        reading = asyncio.create_task(self._read(client), name="plotserver-mqtt-read")
        try:
            while self.holding:
                self.changed.clear()
                await self._subscribe(client)
                waits: set[asyncio.Future[Any]] = {reading, asyncio.ensure_future(self.changed.wait())}
                done, pending = await asyncio.wait(
                    waits, timeout=settings.MQTT_RELOAD_EVERY, return_when=asyncio.FIRST_COMPLETED
                )
                for waiting in pending - {reading}:
                    waiting.cancel()
                if reading in done:
                    reading.result()  # the broker went away: MqttError
                    return
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await reading

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        try:
            routes = Routes(await self.pipeline.run_sync(load_subscriptions))
        except OUTAGE_ERRORS as exc:  # the routes held go on, and so does the broker's connection
            _failures.warning("reload", f"the MQTT topics cannot be read again ({exc}); keeping those subscribed")
            return
        wanted = routes.filters
        self.routes = routes  # messages of a topic no token asks for any more are dropped from now on
        if gone := self.subscribed - wanted:
            await client.unsubscribe(sorted(gone))
            self.subscribed -= gone
        if new := sorted(wanted - self.subscribed):
            codes = await client.subscribe([(topic, 1) for topic in new])
            turned_down = [topic for topic, code in zip(new, codes, strict=True) if refused(code)]
            self.subscribed |= set(new) - set(turned_down)
            log.info("subscribed to %d MQTT topics", len(self.subscribed))
            if turned_down:
                _failures.warning("refused", f"the MQTT broker refused the topics {turned_down!r}; asking again later")
                await self.pipeline.run_sync(refused_topics, routes.subscriptions, turned_down)

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            await self._take(message)

    async def _take(self, message: aiomqtt.Message) -> None:
        if message.retain:
            return  # a retained message comes again with every subscription: it would be stored again
        subs = self.routes.of(message.topic)
        if not subs:
            return
        payload = message.payload
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes | bytearray):
            payload = b""
        parsed = lines_of(bytes(payload), time.time_ns(), settings.MQTT_MAX_MESSAGE_BYTES)
        for sub in subs:
            feed = self.feeds.get(sub.token_id)
            if feed is None or feed.sub != sub:
                feed = self.feeds[sub.token_id] = TokenFeed(self, sub)
            feed.add(parsed, len(payload))
        await self._room.wait()

    async def stop(self) -> None:
        """Stop reading (the messages taken are written by the streams' own end) and hand the
        lease over: another process connects at once."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        feeds = [feed.task for feed in self.feeds.values() if feed.task is not None and not feed.task.done()]
        if feeds:
            await asyncio.wait(feeds, timeout=settings.LINEPROTO_WRITE_TIMEOUT)
            for feed_task in feeds:  # the database away: what they hold is lost with the process
                feed_task.cancel()
        if self._tasks:
            self._tasks = []  # stopped: a second stop (the hook's, then the shutdown's) does nothing more
            with contextlib.suppress(Exception):
                await self.pipeline.run_sync(ProcessLease.release, LEASE_NAME, self.holder)
        self._lease_thread.shutdown(wait=False)
