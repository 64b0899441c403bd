"""How fast points go in, and how soon viewers see them; each figure beside a baseline run now.

    python -m bench.ingest            (make bench)

1. Throughput over HTTP: points a second through plotserver's main port and its stream listener,
   one line per chunk as Plotly's clients write, against the same bytes sent to an ASGI app that
   only discards them under the same uvicorn (the transport's ceiling).
2. The cost of storing: plotserver's group commit (one transaction per batch) against one
   transaction per point, the same updates on the same database.
3. Latency: from a producer's write to a viewer's WebSocket, at 100 points a second.

Runs on SQLite unless DATABASE_URL is set; with REDIS_URL set, the servers use Redis.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from harness.live_server import ROOT, IntegrationDatabase, LiveServer, free_port, new_user, wait_for
from harness.producer import RawStream

POINTS = 20000
STREAMS = 8


def chunked_lines(count: int, start: int = 0) -> bytes:
    out = bytearray()
    for i in range(start, start + count):
        line = b'{"x": %d, "y": %d}\n' % (i, i % 97)
        out += b"%x\r\n%s\r\n" % (len(line), line)
    return bytes(out)


def send_stream(port: int, token: str | None, body: bytes) -> dict:
    stream = RawStream(port, token or "bench").open()
    stream.send_raw(body)
    answer = stream.end()
    return answer.json


def throughput(port: int, tokens: list[str], per_stream: int, until_stored=None) -> float:
    bodies = [chunked_lines(per_stream) for _ in tokens]
    threads = [threading.Thread(target=send_stream, args=(port, t, b)) for t, b in zip(tokens, bodies, strict=True)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if until_stored:
        wait_for(until_stored, timeout=120, interval=0.01)
    return len(tokens) * per_stream / (time.perf_counter() - started)


def bench_throughput(env: dict, artifacts: Path) -> list[tuple[str, str, str]]:
    rows = []
    stream_port = free_port()
    server = LiveServer({**env, "STREAM_PORT": str(stream_port)}, artifacts, name="bench").start()
    try:
        user = new_user(env, server.url)
        for label, streams in (("1 stream", 1), (f"{STREAMS} streams", STREAMS)):
            per_stream = POINTS // streams
            for door, port in (("main port", server.port), ("stream listener", stream_port)):
                tokens = [user.make_token() for _ in range(streams)]
                user.make_plot(tokens, maxpoints=1000)

                def stored(tokens=tokens, per_stream=per_stream):
                    return all(user.stream_status(t)["accepted"] == per_stream for t in tokens)

                rate = throughput(port, tokens, per_stream, stored)
                rows.append((f"plotserver, {door}, {label}", f"{rate:,.0f} points/s", "stored and published"))
    finally:
        server.stop()
    null_server = _start_null(env, artifacts)
    try:
        for label, streams in (("1 stream", 1), (f"{STREAMS} streams", STREAMS)):
            rate = throughput(null_server.port, [f"t{i}" for i in range(streams)], POINTS // streams)
            rows.append((f"baseline: discard-only ASGI app, {label}", f"{rate:,.0f} points/s", "read and dropped"))
    finally:
        null_server.stop()
    return rows


def _start_null(env: dict, artifacts: Path) -> LiveServer:
    extra_args = ("--app-dir", str(ROOT / "bench"), "--log-level", "warning")
    return LiveServer(env, artifacts, name="bench-null", extra_args=extra_args, app="null_app:app").start()


def bench_commit(env: dict) -> list[tuple[str, str, str]]:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plotserver.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from core.models import Plot, StreamToken, Trace
    from core.protocol import parse_line
    from core.window import apply_update
    from streaming.store import commit_chunks, load_stream

    owner = get_user_model().objects.create_user(f"bench{time.time_ns()}")
    token = StreamToken.objects.create(owner=owner)
    plot = Plot.objects.create(owner=owner)
    Trace.objects.create(plot=plot, index=0, spec={"x": [], "y": []}, stream_token=token, maxpoints=1000)
    updates = [parse_line(b'{"x": %d, "y": %d}' % (i, i)) for i in range(2000)]

    started = time.perf_counter()
    writer = load_stream(token.pk, timezone.now())
    for i in range(0, len(updates), 100):  # 100 points a commit
        for update in updates[i : i + 100]:
            writer.accept(update)
        now = timezone.now()
        commit_chunks([writer.take_chunk(now)], now)
    grouped = len(updates) / (time.perf_counter() - started)

    started = time.perf_counter()
    for update in updates:
        with transaction.atomic():
            trace = Trace.objects.select_for_update().get(plot=plot, index=0)
            apply_update(trace.spec, update, trace.maxpoints)
            trace.save(update_fields=["spec"])
            StreamToken.objects.filter(pk=token.pk).update(accepted=token.accepted + 1)
    single = len(updates) / (time.perf_counter() - started)
    return [
        ("group commit, 100 points a transaction", f"{grouped:,.0f} points/s", "window, counters, history"),
        ("baseline: one transaction per point", f"{single:,.0f} points/s", "window and counter only"),
    ]


def bench_latency(env: dict, artifacts: Path) -> list[tuple[str, str, str]]:
    from websockets.sync.client import connect

    server = LiveServer(env, artifacts, name="bench-latency").start()
    try:
        user = new_user(env, server.url)
        token = user.make_token()
        plot = user.make_plot([token], maxpoints=1000)
        latencies = []
        with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/") as viewer:
            viewer.recv(timeout=5)
            stream = RawStream(server.port, token).open()
            sent = {}
            done = threading.Event()

            def receive():
                while not done.is_set() or len(latencies) < len(sent):
                    try:
                        message = json.loads(viewer.recv(timeout=2))
                    except TimeoutError:
                        break
                    now = time.perf_counter()
                    for update in message.get("updates", []):
                        x = update["traces"]["0"]["extend"]["x"][0]
                        latencies.append(now - sent[x])

            reader = threading.Thread(target=receive)
            reader.start()
            for i in range(500):
                sent[i] = time.perf_counter()
                stream.write({"x": i, "y": i})
                time.sleep(0.01)
            done.set()
            reader.join()
            stream.end()
        latencies.sort()
        q = statistics.quantiles(latencies, n=100)
        return [
            (
                "write to viewer, 100 points/s",
                f"p50 {q[49] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms",
                f"{len(latencies)} of 500 seen; batch interval 50 ms",
            )
        ]
    finally:
        server.stop()


def main() -> None:
    artifacts = Path(tempfile.mkdtemp(prefix="plotserver-bench-"))
    database = IntegrationDatabase(artifacts)
    env = dict(database.env)
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    try:
        rows = bench_throughput(env, artifacts) + bench_latency(env, artifacts) + bench_commit(env)
    finally:
        database.drop()
    width = max(len(r[0]) for r in rows)
    db = "PostgreSQL" if database.admin_url else "SQLite"
    layer = "Redis" if env.get("REDIS_URL") else "in-memory layer"
    print(f"\nplotserver ingest benchmark ({db}, {layer}, {os.cpu_count()} cores)")
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>24}  {note}")


if __name__ == "__main__":
    main()
