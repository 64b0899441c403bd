"""Load generators: producers on raw chunked HTTP POSTs and viewers on WebSockets, many per process.

Each runs in a process of its own (multiprocessing), with asyncio inside, and talks to the
server only as users do: a producer sends a request head with its `plotly-streamtoken` and then
newline-delimited JSON in chunks; a viewer reads the messages of docs/websocket.md, keeps the
last `seq` of every stream and asks for a `resync` when one is missing.

Latency: a paced producer puts the wall-clock time of its write in the point's `x`; the viewer
subtracts it from the time the update arrived (the processes share the machine's clock).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import time
from dataclasses import asdict, dataclass, field

from bench.common import raise_fd_limit

ANSWER_TIMEOUT = 120.0
SEND_BUFFER = 64 * 1024


# -- producers ----------------------------------------------------------------------------------


def chunk(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def fixed_chunk(lines: int, tail: bytes = b"}\n") -> bytes:
    """`lines` points as one chunk: the bytes the as-fast-as-possible producers send over and over;
    each line ends with `tail` (`line_tail`)."""
    return chunk(b"".join(b'{"x": %d, "y": %d%s' % (i, i % 97, tail) for i in range(lines)))


# The forms of a line the as-fast-as-possible producers send (bench.token_lines compares them;
# bench.resume compares RESUMED, the header form with a `plotserver-resume` header too).
HEADER, PADDED, NAMED, RESUMED = "header", "padded", "named", "resumed"


def line_tail(form: str, token: str) -> bytes:
    """What follows a line's point: nothing (HEADER); its token in a `streamtoken` key, the
    connection sending no token header (NAMED); or as many bytes in an ignored `type` key (PADDED:
    a header-form line as long as the named one)."""
    named = b', "streamtoken": "%s"}\n' % token.encode()
    if form == NAMED:
        return named
    if form == PADDED:
        return b', "type": "%s"}\n' % (b"-" * (len(named) - len(b', "type": ""}\n')))
    return b"}\n"


@dataclass
class ProducerResult:
    token: str
    sent: int = 0
    status: int = 0
    accepted: int = 0
    rejected: int = 0
    error: str = ""
    started: float = 0.0
    finished: float = 0.0


async def open_stream(
    port: int, token: str, named: bool = False, resume: bool = False
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stream's connection and head: with the token header, or (`named`) without it; `resume`
    adds a `plotserver-resume` header, a stream of its own from its first line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # A small send buffer keeps what is in flight (and the drain after the last write) short.
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    head = f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if not named:
        head += f"plotly-streamtoken: {token}\r\n"
    if resume:
        head += f"plotserver-resume: {secrets.token_urlsafe(16)} 1\r\n"
    writer.write(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n")
    await writer.drain()
    return reader, writer


async def end_stream(reader, writer, result: ProducerResult) -> None:
    """Send the last chunk and read the one answer: the server's own count of accepted and rejected."""
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), ANSWER_TIMEOUT)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    result.status = int(head.split()[1]) if head else 0
    try:
        answer = json.loads(body)
        result.accepted, result.rejected = answer.get("accepted", 0), answer.get("rejected", 0)
    except ValueError:
        result.error = body[:200].decode(errors="replace")


async def produce(
    port: int,
    token: str,
    *,
    rate: float,
    seconds: float,
    start_at: float,
    lines_per_chunk: int = 1,
    points: int = 0,
    form: str = HEADER,
):
    """Stream for `seconds`: one timestamped point per write at `rate` writes a second, or, with
    rate 0, `points` fixed points in chunks of `lines_per_chunk` as fast as the server takes them.
    `form` (rate 0 only): the form of the lines (`line_tail`); NAMED sends no token header."""
    result = ProducerResult(token)
    try:
        reader, writer = await open_stream(port, token, named=form == NAMED, resume=form == RESUMED)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        result.started = time.time()
        deadline = start_at + seconds
        if rate:
            interval = 1.0 / rate
            next_at = result.started
            while (now := time.time()) < deadline:
                writer.write(chunk(b'{"x": %r, "y": %d}\n' % (now, result.sent)))
                result.sent += 1
                await writer.drain()
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.time()))
        else:
            tail = line_tail(form, token)
            body = fixed_chunk(lines_per_chunk, tail)
            while result.sent < points:
                lines = min(lines_per_chunk, points - result.sent)
                writer.write(body if lines == lines_per_chunk else fixed_chunk(lines, tail))
                result.sent += lines
                await writer.drain()
                await asyncio.sleep(0)  # take turns with the other producers of this process
        await end_stream(reader, writer, result)
    except (OSError, IndexError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.finished = time.time()
    return result


def producer_process(port: int, tokens: list[str], options: dict, results) -> None:
    """Entry point of one producer process: stream on every token at once, report each answer."""
    raise_fd_limit()

    async def run():
        return await asyncio.gather(*(produce(port, t, **options) for t in tokens))

    results.put([asdict(r) for r in asyncio.run(run())])


# -- idle producers (memory per connection) ------------------------------------------------------


def idle_producer_process(port: int, tokens: list[str], control, results) -> None:
    """Open a stream per token, write one point, then hold them all open until told to end."""
    raise_fd_limit()

    async def run():
        opened, failed = [], 0
        semaphore = asyncio.Semaphore(200)

        async def open_one(token):
            nonlocal failed
            async with semaphore:
                try:
                    reader, writer = await open_stream(port, token)
                    writer.write(chunk(b'{"x": 1, "y": 1}\n'))
                    await writer.drain()
                    opened.append((token, reader, writer))
                except OSError:
                    failed += 1

        await asyncio.gather(*(open_one(t) for t in tokens))
        results.put({"opened": len(opened), "failed": failed})
        await asyncio.get_running_loop().run_in_executor(None, control.recv)

        async def end_one(token, reader, writer) -> dict:
            result = ProducerResult(token, sent=1)
            try:
                await end_stream(reader, writer, result)
            except (OSError, IndexError) as exc:  # TimeoutError included
                result.error = f"{type(exc).__name__}: {exc}"
            return asdict(result)

        results.put(await asyncio.gather(*(end_one(*stream) for stream in opened)))

    asyncio.run(run())


# -- viewers ------------------------------------------------------------------------------------


@dataclass
class ViewerStats:
    plot: int
    connected: bool = False
    messages: int = 0
    got: int = 0  # updates received live, in order
    duplicates: int = 0
    gaps: int = 0  # times a seq was missing
    resyncs: int = 0  # snapshots received after asking (recovery)
    start: dict = field(default_factory=dict)  # stream -> seq in the first snapshot
    last: dict = field(default_factory=dict)  # stream -> last seq held
    error: str = ""

    def complete(self, final: dict) -> bool:
        return all(self.last.get(s, 0) >= seq for s, seq in final.items())


class Viewer:
    """One WebSocket viewer of a plot that follows docs/websocket.md and records what it saw."""

    def __init__(self, port: int, plot: int, latencies: list[float], compression: bool) -> None:
        self.url = f"ws://127.0.0.1:{port}/ws/plots/{plot}/"
        self.stats = ViewerStats(plot)
        self.latencies = latencies
        self.compression = compression
        self.socket = None
        self.snapshot = asyncio.get_running_loop().create_future()
        self.asked_resync = False
        self.asking: asyncio.Future | None = None

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.socket = await connect(
            self.url,
            compression="deflate" if self.compression else None,
            max_size=None,
            open_timeout=120,
            ping_interval=None,
            close_timeout=2,
        )

    async def run(self) -> None:
        try:
            async for raw in self.socket:
                self.on_message(json.loads(raw), time.time())
        except Exception as exc:  # a closed or broken socket ends this viewer alone
            self.stats.error = f"{type(exc).__name__}: {exc}"
        finally:
            if not self.snapshot.done():
                self.snapshot.set_result(False)

    def on_message(self, message: dict, now: float) -> None:
        stats = self.stats
        stats.messages += 1
        kind = message.get("type")
        if kind == "snapshot":
            for stream, state in message.get("streams", {}).items():
                stats.last[stream] = state["seq"]
                stats.start.setdefault(stream, state["seq"])
            if self.asked_resync or message.get("resync"):
                stats.resyncs += 1
                self.asked_resync = False
            if not self.snapshot.done():
                self.snapshot.set_result(True)
        elif kind == "updates":
            for update in message["updates"]:
                stream, seq = str(update["stream"]), update["seq"]
                last = stats.last.get(stream, 0)
                if seq <= last:
                    stats.duplicates += 1
                    continue
                if seq > last + 1:
                    stats.gaps += 1
                    if not self.asked_resync:
                        self.asked_resync = True
                        self.asking = asyncio.ensure_future(self.socket.send('{"type": "resync"}'))
                stats.last[stream] = seq
                stats.got += 1
                if not message.get("replay"):
                    for trace in update.get("traces", {}).values():
                        for x in trace.get("extend", {}).get("x", ()):
                            if isinstance(x, float):
                                self.latencies.append(now - x)
                        break  # every trace of a token gets the same point: time it once


async def open_viewers(viewers: list[Viewer]) -> list[asyncio.Future]:
    """Connect the viewers, 50 at a time, each until its snapshot; return their reading tasks.
    A viewer that cannot connect keeps the reason in its stats."""
    semaphore = asyncio.Semaphore(50)
    tasks: list[asyncio.Future] = []

    async def start(viewer: Viewer) -> None:
        async with semaphore:
            try:
                await viewer.connect()
            except Exception as exc:
                viewer.stats.error = f"connect: {type(exc).__name__}: {exc}"
                return
            tasks.append(asyncio.ensure_future(viewer.run()))
            viewer.stats.connected = await viewer.snapshot

    await asyncio.gather(*(start(v) for v in viewers))
    return tasks


def viewer_process(port: int, plots: list[int], compression: bool, control, results) -> None:
    """Entry point of one viewer process: connect a viewer per entry of `plots`, say when all hold
    their snapshot, then watch until every viewer holds the final seq it is sent (or a deadline)."""
    raise_fd_limit()

    async def run():
        latencies: list[float] = []
        viewers = [Viewer(port, plot, latencies, compression) for plot in plots]
        tasks = await open_viewers(viewers)
        results.put({"ready": sum(v.stats.connected for v in viewers), "of": len(viewers)})
        loop = asyncio.get_running_loop()
        final, deadline_seconds = await loop.run_in_executor(None, control.recv)
        deadline = time.monotonic() + deadline_seconds
        while time.monotonic() < deadline:
            if all(v.stats.complete(final.get(v.stats.plot, {})) or not v.stats.connected for v in viewers):
                break
            await asyncio.sleep(0.05)
        await asyncio.gather(*(v.socket.close() for v in viewers if v.socket is not None))
        for task in tasks:
            task.cancel()
        results.put(
            {
                "viewers": [
                    {**asdict(v.stats), "complete": v.stats.complete(final.get(v.stats.plot, {}))} for v in viewers
                ],
                "latencies": latencies,
            }
        )

    asyncio.run(run())


def idle_viewer_process(port: int, plots: list[int], control, results) -> None:
    """Connect a viewer per entry of `plots`, wait for each one's snapshot, then hold them open."""
    raise_fd_limit()

    async def run():
        viewers = [Viewer(port, plot, [], compression=True) for plot in plots]
        readers = await open_viewers(viewers)  # held: a task nobody references may be collected
        opened = sum(v.stats.connected for v in viewers)
        results.put({"opened": opened, "failed": len(viewers) - opened})
        await asyncio.get_running_loop().run_in_executor(None, control.recv)
        await asyncio.gather(*(v.socket.close() for v in viewers if v.socket is not None))
        for reader in readers:
            reader.cancel()
        results.put({"closed": len(viewers)})

    asyncio.run(run())
