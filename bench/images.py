"""Static images: renders a second and latency of a 10,000-point plot as PNG (row (l)).

    python -m bench.images                 40 images by 2 clients (IMAGE_RENDER_CONCURRENCY 2)
    python -m bench.images --images 100 --clients 4
    python -m bench.images --quick         6 images: checks that it runs

A real server on a database of its own. A plot of one line (mode "lines"; markers on every one
of 10,000 points cost plotly.js about five times as much to draw) whose window holds 10,000
points, streamed as a producer streams them, is fetched as `/~<user>/<id>.png` (700 x 500) by `--clients`
clients at once, each asking for its next image as soon as it has the last: renders a second
over the whole run, p50 and p99 latency of one image (the request as a client sees it: the
figure read, drawn by plotly.js in Chromium, sent). The first image, which starts Chromium, is
timed alone. The baseline is the same run with a 10-point plot: what the pool costs beyond
drawing. Every answer must be a 200 PNG; the server's memory (PSS of its process tree, Chromium
included) is read at the end.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import Environment, Row, percentiles, print_table, process_tree, say, stop
from harness.producer import send_lines

POINTS = 10_000


def pss_bytes(pids: list[int]) -> int:
    """Proportional memory of these processes (/proc/<pid>/smaps_rollup): Chromium's processes
    share most of their pages, which RSS would count once per process."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


def fetch_png(url: str) -> tuple[int, float]:
    """One image: (status, seconds), a 200 counted only if the body is a PNG."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            body = response.read()
            status = response.status if body[:8] == b"\x89PNG\r\n\x1a\n" else -1
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.perf_counter() - started


def load(url: str, images: int, clients: int) -> dict:
    """`images` fetches of `url` by `clients` threads; renders a second, latencies, statuses."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    left = [images]

    def client() -> None:
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            status, seconds = fetch_png(url)
            with lock:
                statuses.append(status)
                latencies.append(seconds)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ok = statuses.count(200)
    return {
        "images": images,
        "ok": ok,
        "statuses": sorted(set(statuses)),
        "renders_per_s": ok / wall if wall else 0.0,
        "latency": percentiles(latencies),
    }


def plot_of(env: Environment, server, user, points: int) -> str:
    """A public plot whose one trace's window holds `points` streamed points; its PNG address."""
    token = user.make_token()
    trace = {"type": "scatter", "mode": "lines", "x": [], "y": [], "stream": {"token": token, "maxpoints": points}}
    plot = user.ok(
        "POST", "/api/plots/", {"title": f"{points} points", "sharing": "public", "figure": {"data": [trace]}}
    )
    lines = [{"x": i, "y": (i * 7919) % 1000 / 10} for i in range(points)]
    answer = send_lines(server.port, token, lines, timeout=120)
    assert answer.status == 200 and answer.json["accepted"] == points, answer.body
    deadline = time.monotonic() + 60
    while len(user.figure(plot["id"])["data"][0]["x"]) < points:
        assert time.monotonic() < deadline, "the window was not stored within a minute"
        time.sleep(0.1)
    return f"{server.url}/~{user.username}/{plot['id']}.png"


def run(env: Environment, images: int, clients: int) -> dict:
    server = env.server("images", IMAGE_RENDER_CONCURRENCY=str(clients), IMAGE_RENDER_TIMEOUT="60")
    try:
        user = env.user(server)
        big, small = plot_of(env, server, user, POINTS), plot_of(env, server, user, 10)
        say("bench.images: the first image (Chromium starts)")
        first_status, first_seconds = fetch_png(big)
        assert first_status == 200, f"the first image was answered {first_status}"
        say(f"bench.images: {images} images of {POINTS:,} points by {clients} clients")
        figures = {
            "clients": clients,
            "first_image_s": first_seconds,
            "points": load(big, images, clients),
            "baseline_10_points": load(small, images, clients),
            "server_pss_mb": pss_bytes(process_tree(server.process.pid)) / 1e6,
        }
    finally:
        stopped = stop(server)
    figures["stop"] = stopped
    return figures


def row(figures: dict) -> Row:
    big, small = figures["points"], figures["baseline_10_points"]
    return Row(
        scenario=f"(l) images: a {POINTS:,}-point line plot as PNG, {figures['clients']} clients",
        measured=(
            f"{big['renders_per_s']:.1f} renders/s, p50 {big['latency']['p50_ms']:,.0f} ms"
            f" (p99 {big['latency']['p99_ms']:,.0f} ms; {big['ok']}/{big['images']} PNG)"
        ),
        target="p50 ≤ 1 s; no 503 at the pool's own concurrency",
        baseline=f"10 points: {small['renders_per_s']:.1f} renders/s, p50 {small['latency']['p50_ms']:,.0f} ms",
        ratio=f"{big['latency']['p50_ms'] / max(small['latency']['p50_ms'], 0.001):.1f}x baseline p50",
        figures=figures,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.images", description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=40, help="images fetched per plot")
    parser.add_argument("--clients", type=int, default=2, help="clients at once (and IMAGE_RENDER_CONCURRENCY)")
    parser.add_argument("--quick", action="store_true", help="6 images: checks that it runs")
    args = parser.parse_args(argv)
    with Environment() as env:
        result = row(run(env, 6 if args.quick else args.images, args.clients))
        print_table([result], f"plotserver images ({env.description})")
        print(json.dumps(result.figures, indent=2))


if __name__ == "__main__":
    main()
