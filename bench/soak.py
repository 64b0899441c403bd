"""The soak: hours-long load in minutes' clothing. Paced producers, many viewers, one viewer that
never reads and one producer that misbehaves, for `--seconds` (30 minutes by default); every
`--sample` seconds the server's memory, open file descriptors and one probe viewer's latency.

    python -m bench.soak                       10,000 points/s, 100 viewers, 30 minutes
    python -m bench.soak --seconds 120 --rate 1000 --viewers 10
    python -m bench --only soak                the same as a row of the table

It ends with the accounting (every point a producer was told was accepted is stored, once) and
whether memory and descriptors ended flat: the last sample against the first one after warm-up.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import socket
import threading
import time
from pathlib import Path

from bench.common import (
    Environment,
    Row,
    ms,
    open_fds,
    percentiles,
    process_tree,
    raise_fd_limit,
    rss_bytes,
    say,
    stop,
)
from bench.load import producer_process, viewer_process

PRODUCERS_PER_PROCESS = 50
VIEWERS_PER_PROCESS = 100

# Growth from the first sample after warm-up to the last one that still counts as flat.
FLAT_MEMORY_BYTES = 64 << 20
FLAT_MEMORY_FRACTION = 0.25
FLAT_FDS = 20


def stuck_viewer(port: int, plot_id: int) -> socket.socket:
    """A WebSocket viewer that completes the handshake and then never reads a byte."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(
        (
            f"GET /ws/plots/{plot_id}/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: c29hay1zdHVjay12aWV3ZXI=\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    return sock


BAD_LINES = [
    b"not json\n",
    b'{"x": ' + b"[" * 500 + b"]" * 500 + b"}\n",  # nested far past the limit
    b'{"x": true, "y": {}}\n',
    b'{"x": 1}{"x": 2}\n',
    b"\xff\xfe\n",
]


def misbehave(port: int, token: str, until: float, counts: dict) -> None:
    """One producer doing what it should not, over and over: bad lines, a line past the length
    limit (rejected alone: its stream ends cleanly, 200), broken chunked framing (400), and
    connections dropped without an end."""
    round_ = 0
    while time.time() < until:
        round_ += 1
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(
                    b"POST / HTTP/1.1\r\nHost: x\r\nplotly-streamtoken: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                    % token.encode()
                )
                for line in BAD_LINES:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(line), line))
                if round_ % 3 == 0:
                    sock.sendall(b"zz\r\nbroken framing\r\n")  # 400
                elif round_ % 3 == 1:
                    # Past STREAM_MAX_LINE_BYTES: that line is rejected alone, and the body ends.
                    big = b"y" * (2 << 20) + b"\n"
                    sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(big), big))
                else:
                    counts["dropped"] += 1
                    continue  # dropped without an end
                sock.settimeout(30)
                answer = sock.recv(65536)
                status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
                counts[status] = counts.get(status, 0) + 1
        except OSError as exc:
            counts["errors"] = counts.get("errors", 0) + 1
            counts["last_error"] = f"{type(exc).__name__}: {exc}"
        time.sleep(0.2)


def probe_latency(port: int, plot_id: int, until: float, samples: list) -> None:
    """One viewer in this process: (arrival time, latency) of every point of one plot."""
    from websockets.sync.client import connect

    try:
        with connect(f"ws://127.0.0.1:{port}/ws/plots/{plot_id}/", open_timeout=60, max_size=None) as sock:
            while time.time() < until + 5:
                try:
                    message = json.loads(sock.recv(timeout=5))
                except TimeoutError:
                    continue
                now = time.time()
                for update in message.get("updates", ()) if not message.get("replay") else ():
                    for trace in update["traces"].values():
                        for x in trace.get("extend", {}).get("x", ()):
                            if isinstance(x, float):
                                samples.append((now, now - x))
                        break
    except Exception as exc:
        samples.append((time.time(), f"{type(exc).__name__}: {exc}"))


def run(env: Environment, *, seconds: float, rate: float, producers: int, viewers: int, sample: float) -> dict:
    server = env.server("soak")
    context = multiprocessing.get_context("fork")
    series: list[dict] = []
    probe: list = []
    misbehaviour: dict = {"dropped": 0}
    try:
        user = env.user(server)
        tokens = [user.make_token() for _ in range(producers)]
        plot_ids = [user.make_plot([t], maxpoints=500)["id"] for t in tokens]
        bad_token = user.make_token("misbehaving")
        user.make_plot([bad_token])

        results = context.Queue()
        viewer_procs, controls = [], []
        assignments = [plot_ids[i % producers] for i in range(viewers)]
        parts = max(1, math.ceil(viewers / VIEWERS_PER_PROCESS))
        for part in [assignments[i::parts] for i in range(parts) if assignments[i::parts]]:
            ours, theirs = context.Pipe()
            process = context.Process(target=viewer_process, args=(server.port, part, False, theirs, results))
            process.start()
            viewer_procs.append(process)
            controls.append(ours)
        connected = sum(results.get(timeout=600)["ready"] for _ in viewer_procs)
        stuck = stuck_viewer(server.port, plot_ids[0])

        start_at = time.time() + 1.0
        until = start_at + seconds
        options = {"rate": rate / producers, "seconds": seconds, "start_at": start_at, "lines_per_chunk": 1}
        producer_results = context.Queue()
        producer_procs = []
        for i in range(0, producers, PRODUCERS_PER_PROCESS):
            part = tokens[i : i + PRODUCERS_PER_PROCESS]
            process = context.Process(target=producer_process, args=(server.port, part, options, producer_results))
            process.start()
            producer_procs.append(process)
        helpers = [
            threading.Thread(target=misbehave, args=(server.port, bad_token, until, misbehaviour), daemon=True),
            threading.Thread(target=probe_latency, args=(server.port, plot_ids[-1], until, probe), daemon=True),
        ]
        for helper in helpers:
            helper.start()

        started = time.time()
        while time.time() < until:
            time.sleep(min(sample, max(0.0, until - time.time())))
            pids = process_tree(server.process.pid)
            now = time.time()
            window = [lat for at, lat in probe if isinstance(lat, float) and at > now - sample]
            point = {
                "t": round(now - started, 1),
                "rss_mb": round(rss_bytes(pids) / 2**20, 1),
                "fds": open_fds(pids),
                "latency": percentiles(window),
            }
            series.append(point)
            say(f"soak: {point['t']:>7.0f} s  rss {point['rss_mb']:7.1f} MB  fds {point['fds']:5d}  "
                f"p50 {ms(point['latency']['p50_ms'])}  p99 {ms(point['latency']['p99_ms'])}")  # fmt: skip

        answers = [a for _ in producer_procs for a in producer_results.get(timeout=600)]
        for control in controls:
            control.send(({}, 1.0))
        viewer_reports = [results.get(timeout=120) for _ in viewer_procs]
        for process in viewer_procs + producer_procs:
            process.join(timeout=30)
        for helper in helpers:
            helper.join(timeout=60)
        stuck.close()

        acknowledged = {a["token"]: a["accepted"] for a in answers if a["status"] == 200}
        stored = {t: user.stream_status(t)["accepted"] for t in tokens}
        windows_with_duplicates = 0
        for plot_id in plot_ids[:10]:
            xs = user.figure(plot_id)["data"][0]["x"]
            windows_with_duplicates += len(xs) != len(set(xs))
    finally:
        stopped = stop(server)

    warm = series[min(len(series) - 1, max(0, len(series) // 4))] if series else {"rss_mb": 0, "fds": 0}
    last = series[-1] if series else warm
    memory_growth = (last["rss_mb"] - warm["rss_mb"]) * 2**20
    return {
        "seconds": seconds,
        "rate": rate,
        "producers": producers,
        "viewers": viewers,
        "viewers_connected": connected,
        "series": series,
        "answers": len(answers),
        "producer_errors": [a["error"] or a["status"] for a in answers if a["error"] or a["status"] != 200][:5],
        "sent": sum(a["sent"] for a in answers),
        "acknowledged": sum(acknowledged.values()),
        "stored": sum(stored.values()),
        "lost_or_doubled": {t: (acknowledged.get(t), stored[t]) for t in tokens if acknowledged.get(t) != stored[t]},
        "windows_with_duplicates": windows_with_duplicates,
        "viewer_errors": sorted({v["error"] for r in viewer_reports for v in r["viewers"] if v["error"]})[:5],
        "latency": percentiles([lat for _, lat in probe if isinstance(lat, float)]),
        "probe_errors": [lat for _, lat in probe if isinstance(lat, str)][:3],
        "misbehaviour": misbehaviour,
        "memory_growth_mb": round(memory_growth / 2**20, 1),
        "fd_growth": last["fds"] - warm["fds"],
        "memory_flat": memory_growth <= FLAT_MEMORY_BYTES + FLAT_MEMORY_FRACTION * warm["rss_mb"] * 2**20,
        "fds_flat": last["fds"] - warm["fds"] <= FLAT_FDS,
        "server_stop": stopped,
    }


def row(figures: dict) -> Row:
    lat = figures["latency"]
    measured = (
        f"{figures['stored']:,} of {figures['acknowledged']:,} acknowledged points stored; "
        f"memory {'+' if figures['memory_growth_mb'] >= 0 else ''}{figures['memory_growth_mb']} MB after warm-up, "
        f"fds {figures['fd_growth']:+d}; probe latency p50 {ms(lat['p50_ms'])}, p99 {ms(lat['p99_ms'])}"
    )
    return Row(
        f"soak: {figures['rate']:,.0f} points/s, {figures['viewers']} viewers + 1 stuck, 1 misbehaving producer, "
        f"{figures['seconds'] / 60:.0f} min",
        measured,
        "every acknowledged point stored once; memory and descriptors flat",
        "",
        "",
        figures,
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1800, help="how long to stream (default 30 minutes)")
    parser.add_argument("--rate", type=float, default=10_000, help="points a second, over all producers")
    parser.add_argument("--producers", type=int, default=100)
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--sample", type=float, default=30, help="seconds between samples")
    parser.add_argument("--json", default="", help="also write every figure, samples included, to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    raise_fd_limit()
    with Environment() as env:
        figures = run(
            env, seconds=args.seconds, rate=args.rate, producers=args.producers, viewers=args.viewers,
            sample=args.sample,
        )  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    print(json.dumps({k: v for k, v in figures.items() if k != "series"}, indent=2, default=str))
    print(row(figures).measured)


if __name__ == "__main__":
    main()
