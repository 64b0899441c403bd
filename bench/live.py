"""Write-to-viewer latency under load: producers stream timestamped points, viewers watch them arrive.

    python -m bench.live --scenario a            1 producer at 20 writes/s, 1,000 viewers of its plot
    python -m bench.live --scenario b            100 producers x 100 points/s, 100 viewers (one per plot)
    python -m bench.live --scenario c            10 producers x 100 points/s, 10 viewers
    python -m bench.live --scenario d            1 producer at 20 writes/s, 100 viewers
    python -m bench.live --producers 5 --rate 50 --viewers 20 --seconds 10 --maxpoints 10000
    python -m bench.live --scenario a --workers 2  the same over 2 uvicorn processes (needs REDIS_URL)

Every producer has a plot of its own; viewers are spread over the plots evenly. Latency is the
time from a producer's write (its `x`) to a viewer receiving the update, over every point every
viewer received live; delivered counts updates received live against every viewer's due
(the updates the server accepted after that viewer's snapshot); a viewer that saw a gap asked
for a resync, which counts as recovery.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time

from bench.common import Environment, Meter, Row, ms, percentiles, print_table, raise_fd_limit, stop
from bench.load import producer_process, viewer_process
from bench.services import ServiceMeters

# scenario: producers, writes a second each, viewers, the target and its figure before the redesign
SCENARIOS = {
    "a": (1, 20, 1000, "p99 <= 100 ms", "p50 10.7 s behind, a few thousand of 200,000 delivered"),
    "b": (100, 100, 100, "p50 <= 10 ms, p99 <= 50 ms", "p50 3-4 s, p99 5-7 s, server at 100% CPU"),
    "c": (10, 100, 10, "p50 <= 5 ms, p99 <= 25 ms", "p50 74-100 ms, p99 170-216 ms"),
    "d": (1, 20, 100, "p99 <= 25 ms", "p50 66 ms, p99 152 ms"),
}
VIEWERS_PER_PROCESS = 250
PRODUCERS_PER_PROCESS = 50


def describe(producers: int, rate: float, viewers: int) -> str:
    unit = "writes/s" if producers == 1 else "points/s"
    who = f"{producers} producer{'s' if producers > 1 else ''}"
    return f"{who} x {rate:g} {unit}, {viewers:,} viewers"


def split(items: list, parts: int) -> list[list]:
    return [items[i::parts] for i in range(parts) if items[i::parts]]


def final_seqs(port: int, plot_ids: list[int]) -> dict[int, dict[str, int]]:
    """What a fresh viewer of each plot is told: the seq of every stream's newest stored update."""
    import json

    from websockets.sync.client import connect

    final = {}
    for plot_id in plot_ids:
        with connect(f"ws://127.0.0.1:{port}/ws/plots/{plot_id}/", open_timeout=30, max_size=None) as socket:
            snapshot = json.loads(socket.recv(timeout=30))
            final[plot_id] = {stream: state["seq"] for stream, state in snapshot["streams"].items()}
    return final


def run(
    env: Environment,
    *,
    producers: int,
    rate: float,
    viewers: int,
    seconds: float,
    maxpoints: int = 500,
    compression: bool = True,
    workers: int = 1,
    name: str = "",
    target: str = "",
    before: str = "",
) -> Row:
    """Start a server (`workers` uvicorn processes), connect the viewers, stream for `seconds`, and
    account for every point; beside the server's CPU, what Redis and PostgreSQL spent."""
    server = env.server("live", workers=workers)
    context = multiprocessing.get_context("fork")
    try:
        user = env.user(server)
        tokens = [user.make_token() for _ in range(producers)]
        plot_ids = [user.make_plot([t], maxpoints=maxpoints)["id"] for t in tokens]
        assignments = [plot_ids[i % producers] for i in range(viewers)]

        results = context.Queue()
        viewer_procs, controls = [], []
        for part in split(assignments, max(1, math.ceil(viewers / VIEWERS_PER_PROCESS))):
            ours, theirs = context.Pipe()
            process = context.Process(target=viewer_process, args=(server.port, part, compression, theirs, results))
            process.start()
            viewer_procs.append(process)
            controls.append(ours)
        ready = [results.get(timeout=600) for _ in viewer_procs]
        connected = sum(r["ready"] for r in ready)

        meter = Meter(server.process.pid).start()
        services = ServiceMeters(env).start()
        options = {"rate": rate, "seconds": seconds, "start_at": time.time() + 0.5, "lines_per_chunk": 1}
        producer_results = context.Queue()
        producer_procs = []
        for part in split(tokens, max(1, math.ceil(producers / PRODUCERS_PER_PROCESS))):
            process = context.Process(target=producer_process, args=(server.port, part, options, producer_results))
            process.start()
            producer_procs.append(process)
        answers = [a for _ in producer_procs for a in producer_results.get(timeout=seconds + 300)]

        final = final_seqs(server.port, plot_ids)
        for control in controls:
            control.send((final, 30.0))
        reports = [results.get(timeout=120) for _ in viewer_procs]
        # The server's CPU from the first write until every viewer held what it was due (or gave up):
        # a server that falls behind keeps working after the producers end.
        meter.stop(wall=time.time() - options["start_at"])
        spent = services.stop()
        for process in viewer_procs + producer_procs:
            process.join(timeout=30)

        stored = sum(user.stream_status(t)["accepted"] for t in tokens)
    finally:
        stopped = stop(server)

    sent = sum(a["sent"] for a in answers)
    rejected = sum(a["rejected"] for a in answers)
    seen = [v for r in reports for v in r["viewers"]]
    latencies = [x for r in reports for x in r["latencies"]]
    for v in seen:
        v["due"] = sum(seq - v["start"].get(stream, 0) for stream, seq in final[v["plot"]].items())
    due = sum(v["due"] for v in seen)
    delivered = sum(v["got"] for v in seen)
    figures = {
        "producers": producers,
        "rate_per_producer": rate,
        "viewers": viewers,
        "viewers_connected": connected,
        "seconds": seconds,
        "maxpoints": maxpoints,
        "compression": compression,
        "sent": sent,
        "stored": stored,
        "rejected": rejected,
        "producer_errors": [a["error"] for a in answers if a["error"] or a["status"] != 200],
        "producer_seconds": max(a["finished"] for a in answers) - options["start_at"],
        "latency": percentiles(latencies),
        "delivered": delivered,
        "due": due,
        "resyncs": sum(v["resyncs"] for v in seen),
        "gaps": sum(v["gaps"] for v in seen),
        "duplicates": sum(v["duplicates"] for v in seen),
        "viewers_complete": sum(v["complete"] for v in seen),
        "viewers_incomplete": sum(not v["complete"] for v in seen),
        # The accounting: a viewer got every update it was due, or was resynced.
        "viewers_short_without_resync": sum(v["got"] < v["due"] and not v["resyncs"] for v in seen),
        "viewer_errors": sorted({v["error"] for v in seen if v["error"]})[:5],
        "server_cpu_load": meter.load,
        "server_stop": stopped,
        "server_cpu_us_per_point": meter.cpu / stored * 1e6 if stored else None,
        "workers": workers,
        "server_processes": meter.processes(),
        "measured_seconds": meter.wall,
        "deliveries_per_second": delivered / meter.wall if meter.wall else 0.0,
        **spent,
    }
    lat = figures["latency"]
    measured = (
        f"p50 {ms(lat['p50_ms'])}, p99 {ms(lat['p99_ms'])}, max {ms(lat['max_ms'])}; "
        f"{delivered:,} of {due:,} delivered, {figures['resyncs']} resyncs; server CPU {meter.load:.0%}"
    )
    return Row(
        name or describe(producers, rate, viewers),
        measured,
        target,
        f"issue 8: {before}" if before else "",
        "",
        figures,
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.live", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), help="one row of the issue's table")
    parser.add_argument("--producers", type=int, default=1)
    parser.add_argument("--rate", type=float, default=20, help="writes a second per producer (one point each)")
    parser.add_argument("--viewers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--maxpoints", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn processes (several need REDIS_URL)")
    parser.add_argument("--no-compression", action="store_true", help="viewers do not offer permessage-deflate")
    parser.add_argument("--quick", action="store_true", help="a few seconds, a tenth of the viewers")
    return parser.parse_args(argv)


def scenario_row(env: Environment, key: str, seconds: float, quick: bool = False, **extra) -> Row:
    producers, rate, viewers, target, before = SCENARIOS[key]
    if quick:
        producers, viewers = max(1, producers // 10), max(1, viewers // 10)
    label = f"({key}) {describe(producers, rate, viewers)}"
    return run(
        env,
        producers=producers,
        rate=rate,
        viewers=viewers,
        seconds=seconds,
        name=label,
        target=target,
        before=before,
        **extra,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    raise_fd_limit()
    seconds = 3 if args.quick else args.seconds
    with Environment() as env:
        extra = {"maxpoints": args.maxpoints, "compression": not args.no_compression, "workers": args.workers}
        if args.scenario:
            row = scenario_row(env, args.scenario, seconds, args.quick, **extra)
        else:
            row = run(env, producers=args.producers, rate=args.rate, viewers=args.viewers, seconds=seconds, **extra)
        print_table([row], f"plotserver live latency ({env.description})")
        print({k: v for k, v in row.figures.items() if k != "latency"})


if __name__ == "__main__":
    main()
