"""The commit backlog is bounded in bytes (STREAM_BACKLOG_BYTES), not only in lines, and so are
the updates waiting for the channel layer (STREAM_PUBLISH_BACKLOG_BYTES): past either, streams
stop being read (backpressure, counted in limit_hits) until a commit or a publish makes room,
and nothing accepted is lost. A publish never becomes one giant channel-layer message: updates
are split into messages of about PUBLISH_MAX_BYTES (streaming/publisher.py).
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request

import pytest
from channels.layers import get_channel_layer

from base import metrics
from core.protocol import parse_line
from harness.live_server import LiveServer, new_user, wait_for
from harness.producer import RawStream
from streaming import events, publisher
from tests.tcp_proxy import proxied_database


def backpressure_hits() -> float:
    return metrics.LIMIT_HITS.labels("backpressure")._value.get()


@pytest.mark.django_db(transaction=True)
async def test_a_large_publish_is_split_into_messages_of_about_the_limit(stream, pipeline, monkeypatch):
    monkeypatch.setattr(publisher, "PUBLISH_MAX_BYTES", 2000)
    plot, token = stream
    layer = get_channel_layer()
    channel = await layer.new_channel("test-viewer.")
    await layer.group_add(events.plot_group(plot.pk), channel)
    writer = await pipeline.open_writer(token.pk)
    for x in range(12):
        pipeline.submit(writer, parse_line(b'{"x": %d, "y": 0}' % x), size=500)  # one pass of the publisher
    seqs: list[list[int]] = []
    while sum(len(s) for s in seqs) < 12:
        message = await asyncio.wait_for(layer.receive(channel), 10)
        seqs.append([u["seq"] for u in message["updates"]])
    assert seqs == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]  # 2,000 bytes a message


@pytest.mark.django_db(transaction=True)
async def test_a_backlog_past_its_bytes_stops_reading_until_a_commit_makes_room(stream, pipeline, settings):
    settings.STREAM_BACKLOG_BYTES = 10_000
    _, token = stream
    writer = await pipeline.open_writer(token.pk)
    held = threading.Event()
    blocked = asyncio.ensure_future(pipeline.run_sync(held.wait, 30))  # the database thread is busy
    before = backpressure_hits()
    try:
        # A first line goes to a commit, which waits for the database thread; the backlog is
        # what arrives meanwhile.
        pipeline.submit(writer, parse_line(b'{"x": 0, "y": 0}'), size=1000)
        await asyncio.sleep(0.2)
        for x in range(1, 10):
            pipeline.submit(writer, parse_line(b'{"x": %d, "y": 0}' % x), size=1000)
        await asyncio.wait_for(pipeline.room(), 1)  # 9,000 bytes: room still
        committed = pipeline.submit(writer, parse_line(b'{"x": 10, "y": 0}'), size=1000)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(pipeline.room(), 0.3)
        assert backpressure_hits() == before + 1
    finally:
        held.set()
        await blocked
    await asyncio.wait_for(pipeline.room(), 10)
    await committed
    await token.arefresh_from_db()
    assert token.accepted == 11


@pytest.mark.django_db(transaction=True)
async def test_updates_not_yet_handed_to_the_channel_layer_are_bounded_in_bytes_too(
    stream, pipeline, settings, monkeypatch
):
    settings.STREAM_PUBLISH_BACKLOG_BYTES = 10_000
    _, token = stream
    publishing, go_on = asyncio.Event(), asyncio.Event()
    publish = events.publish_updates

    async def slow_publish(plot_id: int, updates: list) -> None:  # a channel layer that lags
        publishing.set()
        await go_on.wait()
        await publish(plot_id, updates)

    monkeypatch.setattr(events, "publish_updates", slow_publish)
    writer = await pipeline.open_writer(token.pk)
    before = backpressure_hits()
    pipeline.submit(writer, parse_line(b'{"x": 0, "y": 0}'), size=1000)
    await asyncio.wait_for(publishing.wait(), 10)  # the publisher holds the first update
    for x in range(1, 9):
        pipeline.submit(writer, parse_line(b'{"x": %d, "y": 0}' % x), size=1000)
    await asyncio.wait_for(pipeline.room(), 1)  # 9,000 bytes: room still
    pipeline.submit(writer, parse_line(b'{"x": 9, "y": 0}'), size=1000)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pipeline.room(), 0.3)
    assert backpressure_hits() == before + 1
    go_on.set()
    await asyncio.wait_for(pipeline.room(), 10)
    await asyncio.wait_for(pipeline.published(), 10)


@pytest.mark.django_db(transaction=True)
async def test_once_a_publish_fails_the_rest_of_that_pass_is_let_go_without_waiting(
    stream, pipeline, settings, monkeypatch
):
    monkeypatch.setattr(publisher, "PUBLISH_MAX_BYTES", 1000)  # every update a message of its own
    settings.CHANNEL_LAYER_TIMEOUT = 0.2
    _, token = stream
    attempts = 0

    async def hung_publish(plot_id: int, updates: list) -> None:  # a channel layer that is away
        nonlocal attempts
        attempts += 1
        await asyncio.Event().wait()

    monkeypatch.setattr(events, "publish_updates", hung_publish)
    writer = await pipeline.open_writer(token.pk)
    for x in range(20):
        pipeline.submit(writer, parse_line(b'{"x": %d, "y": 0}' % x), size=1000)
    await asyncio.wait_for(pipeline.published(), 10)
    # One timeout for the pass, not twenty: an outage costs live updates, never ingest speed.
    assert attempts == 1
    await asyncio.wait_for(pipeline.room(), 1)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def scrape_backpressure(server) -> float:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        for line in response.read().decode().splitlines():
            if line.startswith('plotserver_limit_hits_total{limit="backpressure"}'):
                return float(line.split()[-1])
    return 0.0


LINE = (json.dumps({"x": [float(i) for i in range(5000)], "y": [0.5] * 5000}) + "\n").encode()  # ~60 KB
LINES = 300  # ~18 MB: far past the backlog bound and the sockets' buffers


@pytest.mark.long
def test_a_database_outage_holds_a_bounded_backlog_and_stores_everything_after(tmp_path, artifacts):
    with proxied_database(tmp_path) as (database, proxy, proxied_url):
        env = {"DATABASE_URL": proxied_url, "STREAM_BACKLOG_BYTES": str(2 << 20)}
        server = LiveServer(env, artifacts, name="backlog-bytes").start()
        try:
            user = new_user(database.env, server.url)
            token = user.make_token()
            user.make_plot([token], maxpoints=10000)
            stream = RawStream(server.port, token).open()
            stream.sock.settimeout(120)
            stream.write({"x": 0, "y": 0})
            wait_for(lambda: user.stream_status(token)["accepted"] == 1, message="the first line stored")
            baseline = rss_bytes(server.process.pid)

            proxy.stop()
            sender = threading.Thread(target=lambda: [stream.write(LINE) for _ in range(LINES)], daemon=True)
            sender.start()
            # The server stops reading: the sender blocks well before its last line.
            sender.join(10)
            assert sender.is_alive()
            # 2 MiB of lines waiting (at most twice that with a commit in flight) costs tens of MB of
            # objects, not the hundreds that ~18 MB of such lines would.
            assert rss_bytes(server.process.pid) - baseline < 150 << 20

            proxy.start()
            sender.join(120)
            answer = stream.end()
            assert (answer.status, answer.json["accepted"]) == (200, LINES + 1)
            assert user.stream_status(token)["accepted"] == LINES + 1
            assert scrape_backpressure(server) >= 1  # counted in the metrics
        finally:
            server.stop()
