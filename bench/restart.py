"""Restart time: from starting uvicorn to the first stream accepted, with 1,000 stored windows.

    python -m bench.restart                    1,000 windows of 200 points (100 plots of 10 traces)
    python -m bench.restart --windows 100 --points 50

The windows are filled the way producers fill them (a stream per token), the server is stopped
(SIGTERM) and started again on the same database. Timed from the moment the process is
started: the first stream the server accepts (a one-line POST answered 200 with the line
accepted) and the first viewer snapshot that holds a whole window. The baseline is the same
start on the same database before any point was streamed (the same plots, empty windows).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import threading
import time

from bench.common import Environment, Row, bulk_tokens, print_table, raise_fd_limit, say, stop, stream_errors
from bench.load import producer_process
from harness.live_server import LiveServer

TRACES_PER_PLOT = 10
STREAMS_PER_WAVE = 100
TARGET_SECONDS = 2.0


def post_line(port: int, token: str) -> int:
    """One point as a finite POST; the status, or 0 if the server is not listening yet."""
    body = b'{"x": 0, "y": 0}\n'
    head = f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nplotly-streamtoken: {token}\r\nContent-Length: {len(body)}\r\n\r\n"
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head.encode() + body)
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
    except OSError:
        return 0
    head, _, answer = raw.partition(b"\r\n\r\n")
    if not head:
        return 0
    status = int(head.split()[1])
    return status if status != 200 or json.loads(answer).get("accepted") == 1 else -1


def window_length(port: int, plot_id: int) -> int:
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/ws/plots/{plot_id}/", open_timeout=10, max_size=None) as viewer:
        snapshot = json.loads(viewer.recv(timeout=10))
    return len(snapshot["figure"]["data"][-1].get("x", []))


def timed_start(env: Environment, token: str, plot_id: int, points: int) -> dict:
    """Start a server and time how long until it accepts a stream and serves a full window."""
    server = LiveServer({**env.env}, env.artifacts, name="restart", extra_args=("--timeout-graceful-shutdown", "5"))
    starting = threading.Thread(target=server.start)
    started = time.monotonic()
    starting.start()
    accepted = snapshot = None
    deadline = started + 120
    while time.monotonic() < deadline:
        if accepted is None and post_line(server.port, token) == 200:
            accepted = time.monotonic() - started
        if accepted is not None:
            try:
                if window_length(server.port, plot_id) >= points:
                    snapshot = time.monotonic() - started
                    break
            except (OSError, TimeoutError, ValueError):
                pass
        time.sleep(0.01)
    starting.join()
    return {"server": server, "accepts_stream_s": accepted, "full_snapshot_s": snapshot}


def run(env: Environment, *, windows: int, points: int) -> dict:
    server = env.server("restart-fill")
    user = env.user(server)
    tokens = bulk_tokens(env, user.username, windows)
    plots = [
        user.make_plot(tokens[i : i + TRACES_PER_PLOT], maxpoints=max(points, 1))["id"]
        for i in range(0, windows, TRACES_PER_PLOT)
    ]
    stop(server)
    say(f"restart: {windows} empty windows in {len(plots)} plots; timing a start before any data")
    probe = tokens[-1]  # its window is the last trace of the last plot
    empty = timed_start(env, probe, plots[-1], 0)
    server = empty.pop("server")

    say(f"restart: filling {windows} windows with {points} points each")
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    answers = []
    # In waves: a thousand streams ending at once wait minutes for their answers on today's server.
    for wave in range(0, windows, STREAMS_PER_WAVE):
        options = {"rate": 0, "seconds": 0, "start_at": time.time(), "lines_per_chunk": 20, "points": points}
        process = context.Process(
            target=producer_process, args=(server.port, tokens[wave : wave + STREAMS_PER_WAVE], options, results)
        )
        process.start()
        answers += results.get(timeout=1800)
        process.join(timeout=30)
    stop(server)

    say("restart: timing a start with the windows stored")
    full = timed_start(env, probe, plots[-1], points)
    stop(full.pop("server"))
    return {
        "windows": windows,
        "points_per_window": points,
        "sent": sum(a["sent"] for a in answers),
        "accepted": sum(a["accepted"] for a in answers),
        "rejected": sum(a["rejected"] for a in answers),
        "stream_errors": stream_errors(answers),
        "empty": empty,
        "full": full,
    }


def seconds(value: float | None) -> str:
    return "never (120 s)" if value is None else f"{value:.2f} s"


def row(figures: dict) -> Row:
    full, empty = figures["full"], figures["empty"]
    ratio = ""
    if full["accepts_stream_s"] and empty["accepts_stream_s"]:
        ratio = f"{full['accepts_stream_s'] / empty['accepts_stream_s']:.2f}x"
    return Row(
        f"(h) restart with {figures['windows']:,} stored windows of {figures['points_per_window']} points",
        f"accepts streams after {seconds(full['accepts_stream_s'])}; "
        f"full snapshot after {seconds(full['full_snapshot_s'])}",
        f"<= {TARGET_SECONDS:g} s to accept streams",
        f"empty windows: accepts streams after {seconds(empty['accepts_stream_s'])}",
        ratio,
        figures,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.restart", description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=1000)
    parser.add_argument("--points", type=int, default=200, help="points in each window")
    parser.add_argument("--quick", action="store_true", help="100 windows of 20 points")
    args = parser.parse_args(argv)
    raise_fd_limit()
    windows, points = (100, 20) if args.quick else (args.windows, args.points)
    with Environment() as env:
        print_table([row(run(env, windows=windows, points=points))], f"plotserver restart ({env.description})")


if __name__ == "__main__":
    main()
