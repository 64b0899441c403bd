"""Line protocol beside NDJSON: points a second and server CPU per point through each door, same server, same run.

    python -m bench.lineproto_door                         10 writers x 3,000 points, 500-line writes
    python -m bench.lineproto_door --writers 4 --points 20000 --batch 1000

The NDJSON door: each producer streams its points to a token of its own in 10-line chunks (as row
(e) does) and reads its answer. The line-protocol door: each writer POSTs its points to
`/api/v2/write` of a plot of its own (one series: `bench,writer=N v=<float> <ns>`), `--batch`
lines a request (Telegraf sends up to 1,000, InfluxDB's Python client 1,000), one request after
another. A second row writes as a Telegraf agent does: one writer, each write one point of each
of 100 series of one plot. Each writer's first write (which makes its series and opens their
streams, once) is not measured. Both doors end in the same ingest core; the figures show what the door
costs on top of it. Points a second = points stored / time from the first write to the last
answer; CPU per point = user + system time of the server's processes over that span / points
stored (the figure to compare: it does not depend on how busy the machine is).
"""

from __future__ import annotations

import argparse
import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from bench.common import Environment, Meter, Row, print_table, ratio, stop
from bench.load import HEADER
from bench.server_counts import snapshot
from bench.throughput import measure, stream_all

# Nanoseconds: the first point's timestamp (2026-12-07T10:00:00Z); each next one a millisecond on.
T0 = 1796637600 * 10**9


def write_all(port: int, key: str, plot_id: int, writer: int, points: int, batch: int, series: int = 1) -> dict:
    """One writer's points, `batch` lines a request (each line a point of one of `series` series,
    in turn); its count of points sent and any error."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Authorization": f"Token {key}", "Content-Type": "text/plain; charset=utf-8"}
    sent, error = 0, ""
    try:
        for start in range(0, points, batch):
            body = "\n".join(
                f"bench,writer={writer},s={i % series} v={i * 0.5} {T0 + i // series * 1_000_000}"
                for i in range(start, min(points, start + batch))
            ).encode()
            connection.request("POST", f"/api/v2/write?bucket={plot_id}&org=bench", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            if response.status != 204:
                error = f"{response.status} {answer[:200]!r}"
                break
            sent += body.count(b"\n") + 1
    finally:
        connection.close()
    return {"sent": sent, "error": error, "finished": time.time()}


def lineproto_ingest(env: Environment, server, *, writers: int, points: int, batch: int, series: int = 1) -> dict:
    user = env.user(server)
    plots = [user.make_plot([])["id"] for _ in range(writers)]
    # Not measured: each writer's first write, which makes its series (their traces and tokens)
    # and opens their streams, as an agent's first write does once.
    warm = [write_all(server.port, user.key, plots[n], n, series, series, series) for n in range(writers)]
    meter = Meter(server.process.pid).start()
    started = time.time()
    with ThreadPoolExecutor(writers) as pool:
        results = list(
            pool.map(lambda n: write_all(server.port, user.key, plots[n], n, points, batch, series), range(writers))
        )
    meter.stop(wall=max(r["finished"] for r in results) - started)
    # The windows hold the last 500 points; the series' tokens count them all.
    names = {f"line protocol: {trace['name']}" for plot_id in plots for trace in user.figure(plot_id)["data"]}
    stored, path = 0, "/api/streams/"
    while path:
        page = user.ok("GET", path)
        stored += sum(stream["accepted"] for stream in page["results"] if stream["name"] in names)
        path = page["next"] and page["next"].removeprefix(user.base_url)
    answers = [
        {"sent": r["sent"], "accepted": r["sent"], "rejected": 0, "error": r["error"], "status": 200}
        for r in results + warm
    ]
    figures = measure(answers, meter, stored)
    # Points a second and CPU per point: of the measured writes only.
    measured = stored - sum(r["sent"] for r in warm)
    figures["points_per_second"] = measured / meter.wall if meter.wall else 0.0
    figures["cpu_us_per_point"] = meter.cpu / measured * 1e6 if measured else None
    figures.update(writers=writers, lines_per_write=batch, series_per_writer=series)
    return figures


def ndjson_ingest(
    env: Environment, server, *, producers: int, points: int, lines: int, form: str = HEADER, counted: bool = False
) -> dict:
    """`producers` streams of `points` points each on fresh tokens, in lines of `form`
    (bench.load.line_tail); the figures of bench.throughput.measure, with `counted` the
    server's counts while they streamed (bench.server_counts)."""
    user = env.user(server)
    tokens = [user.make_token() for _ in range(producers)]
    for token in tokens:
        user.make_plot([token])
    counter = partial(snapshot, server.process.pid, server.port) if counted else None
    answers, meter = stream_all(server.port, tokens, points, lines, server.process.pid, form, counter)
    stored = sum(user.stream_status(t)["accepted"] for t in tokens)
    figures = measure(answers, meter, stored)
    figures.update(producers=producers, lines_per_chunk=lines, form=form)
    return figures


def rate(figures: dict) -> str:
    return f"{figures['points_per_second']:,.0f} points/s, {figures['cpu_us_per_point'] or 0:.1f} µs CPU/point"


def rows(env: Environment, *, writers: int, points: int, batch: int) -> list[Row]:
    """The line-protocol door beside the NDJSON door, on one server."""
    server = env.server("lineproto")
    try:
        ndjson = ndjson_ingest(env, server, producers=writers, points=points, lines=10)
        lineproto = lineproto_ingest(env, server, writers=writers, points=points, batch=batch)
        # Telegraf's shape: one agent, each write a point of each of 100 series.
        telegraf = lineproto_ingest(env, server, writers=1, points=points, batch=100, series=100)
    finally:
        stopped = stop(server)
    lineproto["server_stop"] = stopped
    return [
        Row(
            f"(k) line protocol, {writers} writers, {batch}-line writes to /api/v2/write",
            rate(lineproto),
            "reported beside the NDJSON door (same core, same server)",
            f"NDJSON door, {writers} producers, 10-line chunks: {rate(ndjson)}",
            ratio(lineproto["cpu_us_per_point"], ndjson["cpu_us_per_point"], "CPU/point"),
            {"lineproto": lineproto, "ndjson": ndjson},
        ),
        Row(
            "(k) line protocol, 1 writer, writes of 100 series x 1 point (Telegraf's shape)",
            rate(telegraf),
            "reported beside the NDJSON door (same core, same server)",
            f"NDJSON door: {rate(ndjson)}",
            ratio(telegraf["cpu_us_per_point"], ndjson["cpu_us_per_point"], "CPU/point"),
            {"lineproto": telegraf, "ndjson": ndjson},
        ),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.lineproto_door", description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=10, help="writers, and NDJSON producers")
    parser.add_argument("--points", type=int, default=3000, help="points per writer")
    parser.add_argument("--batch", type=int, default=500, help="lines per line-protocol write")
    parser.add_argument("--quick", action="store_true", help="a tenth of the points")
    args = parser.parse_args(argv)
    points = args.points // 10 if args.quick else args.points
    with Environment() as env:
        table = rows(env, writers=args.writers, points=points, batch=args.batch)
        print_table(table, f"plotserver ingest doors ({env.description})")


if __name__ == "__main__":
    main()
