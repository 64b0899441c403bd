"""Ingest as fast as possible: points a second and server CPU per point, against a bare app in the same run.

    python -m bench.throughput                        100 producers, 10-line chunks, 1 worker, maxpoints 500
    python -m bench.throughput --workers 2            the same with `uvicorn --workers 2` (beside 1 worker)
    python -m bench.throughput --maxpoints 10000      how the cost grows with the window
    python -m bench.throughput --producers 10 --lines 1 --points 10000

Every producer streams `--points` points in chunks of `--lines` as fast as the server takes
them, then ends its stream and reads the answer (which comes after the commit of its last line).
Points a second = points stored / time from the first write to the last answer. CPU per point =
user + system time of the server's processes (/proc) over the same span / points stored: it
does not depend on how busy the machine is, so it is the figure to compare. The baseline is
bench/null_app.py (frames and parses every line, drops it) under the same uvicorn, fed the
same bytes by the same load processes.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time
from collections.abc import Callable

from bench.common import Environment, Meter, Row, print_table, raise_fd_limit, ratio, stop
from bench.load import HEADER, producer_process

PRODUCERS_PER_PROCESS = 50


def stream_all(
    port: int,
    tokens: list[str],
    points: int,
    lines: int,
    pid: int,
    form: str = HEADER,
    counter: Callable[[], dict[str, float]] | None = None,
) -> tuple[list[dict], Meter]:
    """Send `points` points on every token at once, in lines of `form` (bench.load.line_tail);
    return the answers and the server's CPU meanwhile (and its `counter`'s counts: Meter)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    options = {"rate": 0, "seconds": 0, "start_at": time.time() + 0.5, "lines_per_chunk": lines, "points": points}
    options["form"] = form
    # Before the load starts (the server is idle until its first write): the counts come from
    # /metrics, which a busy server answers late.
    meter = Meter(pid, counter).start()
    processes = []
    for i in range(max(1, math.ceil(len(tokens) / PRODUCERS_PER_PROCESS))):
        part = tokens[i :: max(1, math.ceil(len(tokens) / PRODUCERS_PER_PROCESS))]
        process = context.Process(target=producer_process, args=(port, part, options, results))
        process.start()
        processes.append(process)
    answers = [a for _ in processes for a in results.get(timeout=1800)]
    meter.stop(wall=max(a["finished"] for a in answers) - options["start_at"])
    for process in processes:
        process.join(timeout=30)
    return answers, meter


def measure(answers: list[dict], meter: Meter, stored: int) -> dict:
    return {
        "sent": sum(a["sent"] for a in answers),
        "accepted": sum(a["accepted"] for a in answers),
        "rejected": sum(a["rejected"] for a in answers),
        "stored": stored,
        "errors": [a["error"] or a["status"] for a in answers if a["error"] or a["status"] != 200][:5],
        "seconds": meter.wall,
        "points_per_second": stored / meter.wall if meter.wall else 0.0,
        "server_cpu_seconds": meter.cpu,
        "server_cpu_load": meter.load,
        "cpu_us_per_point": meter.cpu / stored * 1e6 if stored else None,
        "counts": meter.counts,
    }


def plotserver_ingest(
    env: Environment,
    *,
    producers: int,
    lines: int,
    points: int,
    workers: int = 1,
    maxpoints: int = 500,
    alerts: int = 0,
) -> dict:
    server = env.server("ingest", workers=workers)
    try:
        user = env.user(server)
        tokens = [user.make_token() for _ in range(producers)]
        plots = [user.make_plot([token], maxpoints=maxpoints) for token in tokens]
        for i in range(alerts):
            # Evaluated on every batch and never crossed (the load's y run 0..96): what is
            # measured is the evaluation, not deliveries. Made before the first write, each is
            # loaded by the server within a tick of the alerts' timer (a quarter of a second).
            condition, threshold = ("above", 1e6) if i % 2 else ("below", -1e6)
            body = {"plot": plots[i % len(plots)]["id"], "trace": 0, "condition": condition, "threshold": threshold}
            user.ok("POST", "/api/alerts/", body)
        answers, meter = stream_all(server.port, tokens, points, lines, server.process.pid)
        stored = sum(user.stream_status(t)["accepted"] for t in tokens)
    finally:
        stopped = stop(server)
    figures = measure(answers, meter, stored)
    figures["server_stop"] = stopped
    figures.update(producers=producers, lines_per_chunk=lines, workers=workers, maxpoints=maxpoints, alerts=alerts)
    return figures


def bare_ingest(env: Environment, *, producers: int, lines: int, points: int, workers: int = 1) -> dict:
    server = env.null_server(workers=workers)
    try:
        tokens = [f"bare{i}" for i in range(producers)]
        answers, meter = stream_all(server.port, tokens, points, lines, server.process.pid)
    finally:
        stop(server)
    figures = measure(answers, meter, sum(a["accepted"] for a in answers))
    figures.update(producers=producers, lines_per_chunk=lines, workers=workers)
    return figures


def rate(figures: dict) -> str:
    return f"{figures['points_per_second']:,.0f} points/s, {figures['cpu_us_per_point'] or 0:.1f} µs CPU/point"


def rows(env: Environment, *, producers: int, lines: int, points: int, workers: int, maxpoints: int) -> list[Row]:
    """The issue's rows (e) and (f) and the window-size comparison, each beside its baseline."""
    bare = bare_ingest(env, producers=producers, lines=lines, points=points)
    one = plotserver_ingest(env, producers=producers, lines=lines, points=points, maxpoints=maxpoints)
    label = f"{producers} producers, {lines}-line chunks"
    out = [
        Row(
            f"(e) ingest, {label}, 1 worker, maxpoints {maxpoints}",
            rate(one),
            ">= 100k points/s, <= 2.5x bare CPU/point",
            f"bare app: {rate(bare)}",
            ratio(one["cpu_us_per_point"], bare["cpu_us_per_point"], "CPU/point"),
            {"plotserver": one, "bare": bare},
        )
    ]
    if workers > 1:
        many = plotserver_ingest(env, producers=producers, lines=lines, points=points, workers=workers)
        bare_many = bare_ingest(env, producers=producers, lines=lines, points=points, workers=workers)
        out.append(
            Row(
                f"(f) ingest, {label}, {workers} workers",
                rate(many),
                "reported beside 1 worker (issue 8: 30k points/s, no gain)",
                f"1 worker: {one['points_per_second']:,.0f} points/s; bare app, {workers} workers: {rate(bare_many)}",
                ratio(many["points_per_second"], one["points_per_second"], "points/s", 2),
                {"plotserver": many, "one_worker": one, "bare": bare_many},
            )
        )
    if maxpoints != 10000:
        big = plotserver_ingest(env, producers=producers, lines=lines, points=points, maxpoints=10000)
        out.append(
            Row(
                f"(e) ingest, {label}, 1 worker, maxpoints 10,000",
                rate(big),
                "CPU/point independent of window size",
                f"maxpoints {maxpoints}: {rate(one)}",
                ratio(big["cpu_us_per_point"], one["cpu_us_per_point"], "CPU/point"),
                {"plotserver": big, "small_window": one},
            )
        )
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--producers", type=int, default=100)
    parser.add_argument("--lines", type=int, default=10, help="lines per chunk")
    parser.add_argument("--points", type=int, default=3000, help="points per producer")
    parser.add_argument("--workers", type=int, default=1, help="also run with this many uvicorn workers")
    parser.add_argument("--maxpoints", type=int, default=500, help="also runs maxpoints 10,000 unless this is it")
    parser.add_argument("--quick", action="store_true", help="a tenth of the points")
    args = parser.parse_args(argv)
    raise_fd_limit()
    points = args.points // 10 if args.quick else args.points
    with Environment() as env:
        options = {"producers": args.producers, "lines": args.lines, "workers": args.workers}
        table = rows(env, points=points, maxpoints=args.maxpoints, **options)
        print_table(table, f"plotserver ingest ({env.description})")


if __name__ == "__main__":
    main()


def alerts_rows(
    env: Environment, *, producers: int, lines: int, points: int, alerts: int = 100, pairs: int = 1
) -> list[Row]:
    """Row (m): ingest with `alerts` threshold alerts on the streamed traces, beside none, in
    `pairs` pairs run back to back (which goes first swaps every pair): the machine's speed
    drifts between runs minutes apart more than within a pair, so the ratio is taken pair by
    pair and the median pair is quoted."""
    runs: list[tuple[dict, dict]] = []
    for pair in range(pairs):
        order = (0, alerts) if pair % 2 == 0 else (alerts, 0)
        got = {n: plotserver_ingest(env, producers=producers, lines=lines, points=points, alerts=n) for n in order}
        runs.append((got[alerts], got[0]))
    ratios = [some["cpu_us_per_point"] / none["cpu_us_per_point"] for some, none in runs]
    some, none = runs[sorted(range(pairs), key=ratios.__getitem__)[pairs // 2]]
    return [
        Row(
            f"(m) ingest, {producers} producers, {lines}-line chunks, {alerts} alerts on the streamed traces",
            rate(some),
            "CPU/point within 5% of no alerts",
            f"no alerts: {rate(none)}",
            ratio(some["cpu_us_per_point"], none["cpu_us_per_point"], "CPU/point", 2)
            + (f", median of {pairs} pairs" if pairs > 1 else ""),
            {
                "plotserver": some,
                "no_alerts": none,
                "pairs": [
                    {"alerts_us": s["cpu_us_per_point"], "none_us": n["cpu_us_per_point"], "ratio": r}
                    for (s, n), r in zip(runs, ratios, strict=True)
                ],
            },
        )
    ]
