"""Every row of the performance table: `python -m bench` (make bench), each beside its target and baseline.

    python -m bench                      the full table, about 10 minutes on a quiet 2-core machine
    python -m bench --quick              a few seconds a scenario: checks that everything runs
    python -m bench --runs 3             each scenario three times; the median run is reported
    python -m bench --only m --pairs 6   row (m) as 6 pairs, with and without alerts in turn (default 3)
    python -m bench --only p             row (p): 1 and 2 workers in turn, --pairs pairs, (a)'s and (b)'s loads
    python -m bench --only a,e,h         some rows only (a-d latency, e/f ingest, g memory, h restart, i history,
                                         j panning history in Chromium, k line protocol beside NDJSON,
                                         l static images, m ingest with 100 alerts, n MQTT beside NDJSON,
                                         o lines that name their token, p viewers over 2 workers)

The table is printed and written as JSON to bench/results/latest.json (or --json PATH).
Scenarios, each also runnable alone with its own flags:

    bench.live         (a)-(d) write-to-viewer latency and delivery under load
    bench.throughput   (e)-(f) ingest as fast as possible, CPU per point, against a bare app;
                       (m) the same with 100 threshold alerts on the streamed traces, against none
    bench.memory       (g) memory per idle stream and viewer
    bench.restart      (h) restart time with 1,000 stored windows
    bench.history_reads (i) a week at 1 point/s: range reads to 2,000 points, bytes per point stored
    bench.page_pan     (j) the plot page panning that week in Chromium: frames a second, reads, JS heap
    bench.lineproto_door (k) line protocol (/api/v2/write) beside the NDJSON door: points/s, CPU per point
    bench.mqtt_door    (n) MQTT through a real mosquitto beside the NDJSON door: points/s, CPU per point
    bench.images       (l) a 10,000-point plot as PNG: renders a second, p50 latency
    bench.token_lines  (o) lines that name their token beside the header form: CPU per line, in pairs
    bench.scale        (p) (a)'s and (b)'s loads over 2 workers beside 1, in pairs: CPU of each process,
                       deliveries a second, latency, Redis's and PostgreSQL's CPU (needs REDIS_URL)
    bench.soak         (soak) 30 minutes of load with a stuck viewer and a misbehaving producer:
                       only with --only soak (--soak-seconds sets its length)

bench.ingest, bench.viewer_render (the page's frame rate) and bench.dashboard_render (a dashboard
of 16 live panels) run alone.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

from bench import (
    history_reads,
    images,
    lineproto_door,
    live,
    memory,
    mqtt_door,
    page_pan,
    restart,
    scale,
    soak,
    throughput,
    token_lines,
)
from bench.common import RESULTS, Environment, Row, print_table, raise_fd_limit, say, write_results


def median_run(rows: list[Row], key: Callable[[Row], float | None]) -> Row:
    """Of several runs of one row, the run whose key figure is the median, holding every run's key."""
    if len(rows) == 1:
        return rows[0]
    keyed = sorted(rows, key=lambda r: key(r) if key(r) is not None else float("inf"))
    chosen = keyed[len(keyed) // 2]
    chosen.figures["runs"] = [key(r) for r in rows]
    chosen.scenario += f" (median of {len(rows)})"
    return chosen


def latency_key(row: Row) -> float | None:
    return row.figures["latency"]["p99_ms"]


def ingest_key(row: Row) -> float | None:
    return row.figures["plotserver"]["cpu_us_per_point"]


def scale_key(row: Row) -> float | None:
    figures = row.figures
    return figures["pairs"][figures["median_pair"]]["many"]["latency"]["p99_ms"]


def plan(args: argparse.Namespace, env: Environment) -> list[tuple[str, Callable[[], list[Row]], Callable]]:
    quick = args.quick
    seconds = 2 if quick else args.seconds
    points = 300 if quick else 3000

    def latency(key: str, **extra) -> Callable[[], list[Row]]:
        return lambda: [live.scenario_row(env, key, seconds, quick, **extra)]

    def big_window() -> list[Row]:
        row = live.scenario_row(env, "c", seconds, quick, maxpoints=10000)
        row.scenario += ", maxpoints 10,000"
        row.target, row.baseline = "cost independent of window size", "the row (c) above, maxpoints 500"
        return [row]

    def ingest() -> list[Row]:
        return throughput.rows(env, producers=10 if quick else 100, lines=10, points=points, workers=2, maxpoints=500)

    def alerts_rows() -> list[Row]:
        return throughput.alerts_rows(
            env, producers=10 if quick else 100, lines=10, points=points, pairs=1 if quick else args.pairs
        )

    def memory_rows() -> list[Row]:
        sizes = [(200, 50)] if quick else [(2000, 500), (10000, 2000)]
        return [memory.row(memory.run(env, streams=s, viewers=v)) for s, v in sizes]

    def restart_rows() -> list[Row]:
        windows, window_points = (100, 20) if quick else (1000, 200)
        return [restart.row(restart.run(env, windows=windows, points=window_points))]

    def soak_rows() -> list[Row]:
        seconds = 30 if quick else args.soak_seconds
        return [soak.row(soak.run(env, seconds=seconds, rate=10_000, producers=100, viewers=100, sample=seconds / 60))]

    def history_rows() -> list[Row]:
        points = 10_000 if quick else history_reads.WEEK
        return [history_reads.row(history_reads.run(env, points=points, reads=2 if quick else 3))]

    def lineproto_rows() -> list[Row]:
        return lineproto_door.rows(env, writers=10, points=points, batch=500)

    def mqtt_rows() -> list[Row]:
        return mqtt_door.rows(env, publishers=10, points=points)

    def image_rows() -> list[Row]:
        return [images.row(images.run(env, images=6 if quick else 40, clients=2))]

    def token_line_rows() -> list[Row]:
        pairs, each = (1, points) if quick else (token_lines.PAIRS, token_lines.POINTS)
        return [token_lines.row(token_lines.run(env, pairs=pairs, producers=10, points=each, lines=10))]

    def scale_rows() -> list[Row]:
        pairs = 1 if quick else args.pairs
        return scale.rows(env, scenarios=("a", "b"), workers=2, pairs=pairs, seconds=args.seconds, quick=quick)

    def pan_rows() -> list[Row]:
        return [page_pan.row(page_pan.run(env, **(page_pan.QUICK if quick else page_pan.FULL)))]

    return [
        ("a", latency("a"), latency_key),
        ("b", latency("b"), latency_key),
        ("c", latency("c"), latency_key),
        ("c", big_window, latency_key),
        ("d", latency("d"), latency_key),
        ("e", ingest, ingest_key),
        ("m", alerts_rows, ingest_key),
        ("g", memory_rows, lambda r: r.figures["kb_per_connection"]),
        ("h", restart_rows, lambda r: r.figures["full"]["accepts_stream_s"]),
        ("i", history_rows, lambda r: r.figures["numbers"]["week_lttb_2000"]["median_ms"]),
        ("j", pan_rows, lambda r: r.figures["pan"]["median_fps"]),
        ("k", lineproto_rows, lambda r: r.figures["lineproto"]["cpu_us_per_point"]),
        ("n", mqtt_rows, lambda r: r.figures["mqtt"]["cpu_us_per_point"]),
        ("l", image_rows, lambda r: r.figures["points"]["latency"]["p50_ms"]),
        ("o", token_line_rows, lambda r: r.figures["median_ratio"]),
        ("p", scale_rows, scale_key),
        ("soak", soak_rows, lambda r: r.figures["memory_growth_mb"]),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds a scenario")
    parser.add_argument("--runs", type=int, default=1, help="run each scenario this many times, report the median")
    parser.add_argument("--pairs", type=int, default=3, help="rows (m), (p): pairs of runs compared, in turn")
    parser.add_argument("--seconds", type=float, default=10, help="streaming time of each latency scenario")
    parser.add_argument("--only", default="", help="comma-separated rows: a,b,c,d,e (with f),g,h,i,j,k,l,m,n,o,p,soak")
    parser.add_argument("--soak-seconds", type=float, default=1800, help="length of the soak (--only soak)")
    parser.add_argument("--json", default=str(RESULTS / "latest.json"), help="where to write the results")
    args = parser.parse_args(argv)
    limit = raise_fd_limit()
    started = time.time()
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    rows: list[Row] = []
    with Environment() as env:
        say(f"bench: {env.description}, fd limit {limit}")
        for letter, make, key in plan(args, env):
            if (only and letter not in only) or (not only and letter == "soak"):
                continue  # the soak takes half an hour: only when asked for
            say(f"bench: row ({letter})")
            made = [make() for _ in range(args.runs)]
            for run in made:
                for row in run:  # how busy the machine was (other work shares the cores)
                    row.figures["load_average_after"] = os.getloadavg()
            rows.extend(median_run([run[i] for run in made], key) for i in range(len(made[0])))
            write_results(rows, Path(args.json), env.description, started)  # what is done so far
        title = f"plotserver performance ({env.description}; {time.time() - started:.0f} s)"
        print_table(rows, title)
        path = write_results(rows, Path(args.json), env.description, started)
    print(f"\nresults: {path}")
    print(f"the median of {args.runs} runs each" if args.runs > 1 else "one run each (--runs 3 for medians)")


if __name__ == "__main__":
    main()
