"""Fan-out: one producer at 20 writes a second, N viewers of its plot.

    python -m bench.fanout [--viewers 100 1000] [--seconds 20] [--rate 20] [--deflate] [--ws websockets]

A real server (uvicorn subprocess, on PostgreSQL and Redis when DATABASE_URL / REDIS_URL are
set) and the viewers in load-generator processes of their own (asyncio WebSocket clients). Every
write carries its wall-clock send time; each viewer notes when each update reached it. Printed
per N: latency p50 / p99 / max from the producer's write to the viewer's receipt, updates
delivered against expected (N x writes; an update that came again after a resync snapshot is
counted once), resync snapshots, and the server's CPU over the run, also per update delivered
(which, unlike latency, hardly depends on what else the machine is doing).

`--deflate` offers permessage-deflate from the clients and serves with it on (uvicorn's
default); without it the server runs as plotserver is deployed (docs/websocket.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import statistics
import tempfile
import time
import zlib
from pathlib import Path

import orjson

from harness.live_server import IntegrationDatabase, LiveServer, new_user
from harness.producer import RawStream

VIEWERS_PER_WORKER = 250


class ViewerProtocol(asyncio.Protocol):
    """A bare WebSocket client on an asyncio protocol: the load generator must cost far less per
    message than the server it measures, so frames are parsed by hand (server frames are unmasked)."""

    def __init__(self, path: str, host: str, writes: int, tally: dict, deflate: bool) -> None:
        self.request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\nSec-WebSocket-Version: 13\r\n"
            + ("Sec-WebSocket-Extensions: permessage-deflate\r\n" if deflate else "")
            + "\r\n"
        ).encode()
        self.buffer = bytearray()
        self.upgraded = False
        self.inflater = None
        self.writes = writes
        self.tally = tally
        self.seen: set[int] = set()
        self.snapshot = asyncio.get_running_loop().create_future()
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError("closed before its snapshot"))
        if not self.done.done():
            self.tally["closed"] += 1
            self.done.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            del self.buffer[: end + 4]
            self.upgraded = True
            if b"permessage-deflate" in head:
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        now = time.time()
        while len(self.buffer) >= 2:
            first, second = self.buffer[0], self.buffer[1] & 0x7F
            offset = 2
            if second == 126:
                if len(self.buffer) < 4:
                    return
                second, offset = int.from_bytes(self.buffer[2:4]), 4
            elif second == 127:
                if len(self.buffer) < 10:
                    return
                second, offset = int.from_bytes(self.buffer[2:10]), 10
            if len(self.buffer) < offset + second:
                return
            payload = bytes(self.buffer[offset : offset + second])
            del self.buffer[: offset + second]
            opcode = first & 0x0F
            if opcode == 0x8:
                self.transport.close()
                return
            if opcode == 0x9:  # ping: a pong, masked as a client's frames must be
                mask = os.urandom(4)
                masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
                continue
            if opcode != 0x1:
                continue
            if first & 0x40 and self.inflater is not None:
                self.tally["compressed"] += 1
                payload = self.inflater.decompress(payload + b"\x00\x00\xff\xff")
            self.on_message(orjson.loads(payload), now)

    def on_message(self, message: dict, now: float) -> None:
        if message["type"] == "snapshot":
            if not self.snapshot.done():
                self.snapshot.set_result(None)
            else:
                self.tally["resyncs"] += 1
            return
        for update in message.get("updates", ()):
            extend = update["traces"]["0"]["extend"]
            x = extend["x"][0]
            if x not in self.seen:
                self.seen.add(x)
                self.tally["latencies"].append(now - extend["y"][0])
        if len(self.seen) >= self.writes and not self.done.done():
            self.done.set_result(None)


def viewer_worker(port: int, path: str, count: int, writes: int, deadline: float, deflate: bool, ready, results):
    """Hold `count` viewers of one plot until each has every write (or the deadline)."""
    tally = {"latencies": [], "resyncs": 0, "failed": 0, "closed": 0, "delivered": 0, "compressed": 0}

    async def viewer(protocols: list) -> None:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(
            lambda: ViewerProtocol(path, f"127.0.0.1:{port}", writes, tally, deflate), "127.0.0.1", port
        )
        protocols.append(protocol)
        await asyncio.wait_for(protocol.snapshot, 120)

    async def main() -> None:
        protocols: list[ViewerProtocol] = []
        opening = []
        for _ in range(count):
            opening.append(asyncio.create_task(viewer(protocols)))
            await asyncio.sleep(0.002)  # a crowd arriving, not a single burst
        opened = await asyncio.gather(*opening, return_exceptions=True)
        tally["failed"] += sum(isinstance(o, BaseException) for o in opened)
        ready.put(count)
        waiting = [p.done for p in protocols]
        if waiting:
            await asyncio.wait(waiting, timeout=max(0.0, deadline - time.time()))
        for protocol in protocols:
            tally["delivered"] += len(protocol.seen)
            protocol.transport.close()

    asyncio.run(main())
    results.put(tally)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(server: LiveServer, env: dict, viewers: int, seconds: float, rate: float, deflate: bool) -> dict:
    user = new_user(env, server.url)
    token = user.make_token()
    plot = user.make_plot([token], maxpoints=1000)
    path = f"/ws/plots/{plot['id']}/"
    writes = int(seconds * rate)
    ready: multiprocessing.Queue = multiprocessing.Queue()
    results: multiprocessing.Queue = multiprocessing.Queue()
    deadline = time.time() + 120 + seconds + 30  # connecting, the writes, then 30 s to drain
    workers = []
    left = viewers
    while left:
        count = min(VIEWERS_PER_WORKER, left)
        left -= count
        worker = multiprocessing.Process(
            target=viewer_worker,
            args=(server.port, path, count, writes, deadline, deflate, ready, results),
            daemon=True,
        )
        worker.start()
        workers.append(worker)
    connected = sum(ready.get(timeout=120) for _ in workers)
    assert connected == viewers

    stream = RawStream(server.port, token).open()
    cpu_before = cpu_seconds(server.process.pid)
    started = time.perf_counter()
    for i in range(writes):
        # The send time rides in the point itself: y is the wall clock at the write.
        stream.write(b'{"x": %d, "y": %r}\n' % (i, time.time()))
        pause = started + (i + 1) / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    stream.send_raw(b"0\r\n\r\n")
    answer = stream.answer(timeout=300)  # an overloaded server answers late; the figures say how late
    assert answer.json["accepted"] == writes, answer.json
    outcomes = [results.get(timeout=max(1.0, deadline - time.time() + 10)) for _ in workers]
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(server.process.pid) - cpu_before
    for worker in workers:
        worker.join(timeout=10)
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return {
        "viewers": viewers,
        "writes": writes,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
        "delivered": sum(o["delivered"] for o in outcomes),
        "expected": viewers * writes,
        "resyncs": sum(o["resyncs"] for o in outcomes),
        "failed": sum(o["failed"] for o in outcomes),
        "closed": sum(o["closed"] for o in outcomes),
        "compressed": sum(o["compressed"] for o in outcomes),
        "server_cpu": cpu / elapsed,
        "cpu_us_per_delivery": cpu / max(1, sum(o["delivered"] for o in outcomes)) * 1e6,
    }


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=20.0, help="writes a second")
    parser.add_argument("--deflate", action="store_true", help="permessage-deflate on (clients and server)")
    parser.add_argument("--ws", default=None, help="uvicorn's --ws implementation (default: the project's)")
    args = parser.parse_args(argv)

    artifacts = Path(tempfile.mkdtemp(prefix="plotserver-bench-"))
    database = IntegrationDatabase(artifacts)
    # Every viewer connects from 127.0.0.1: lift the per-address cap a real server keeps.
    env = {**database.env, "HTTP_MAX_CONNECTIONS_PER_CLIENT": "0"}
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    extra: tuple[str, ...] = ("--log-level", "warning")
    extra += ("--ws-per-message-deflate", "true" if args.deflate else "false")
    if args.ws:
        extra += ("--ws", args.ws)
    rows = []
    try:
        for viewers in args.viewers:
            server = LiveServer(env, artifacts, name=f"bench-fanout-{viewers}", extra_args=extra).start()
            try:
                rows.append(run(server, env, viewers, args.seconds, args.rate, args.deflate))
            finally:
                server.stop()
    finally:
        database.drop()
    db = "PostgreSQL" if database.admin_url else "SQLite"
    layer = "Redis" if env.get("REDIS_URL") else "in-memory layer"
    deflate = "permessage-deflate on" if args.deflate else "no compression"
    print(f"\nplotserver fan-out benchmark ({db}, {layer}, {deflate}, {os.cpu_count()} cores, {args.rate:g} writes/s)")
    for row in rows:
        print(
            f"  1 producer, {row['viewers']:>5} viewers  p50 {row['p50_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms"
            f"  max {row['max_ms']:7.1f} ms  delivered {row['delivered']:,}/{row['expected']:,}"
            f"  resyncs {row['resyncs']}  failed {row['failed']}  closed {row['closed']}"
            f"  deflated frames {row['compressed']:,}"
            f"  server CPU {row['server_cpu']:.0%}, {row['cpu_us_per_delivery']:.1f} us a delivery"
        )
    return rows


if __name__ == "__main__":
    main()
