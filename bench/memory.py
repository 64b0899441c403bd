"""Memory per connection: the server's resident memory with thousands of idle streams and viewers.

    python -m bench.memory                                2,000 streams + 500 viewers, then 10,000 + 2,000
    python -m bench.memory --streams 500 --viewers 100    one size only

Each idle stream sent its request head and one point, then stays open; each idle viewer holds
its snapshot of a plot (ten viewers a plot) and waits. The server's RSS (/proc, every process
of it) is read once warmed up (a stream and a viewer opened and closed), after the streams are
open and after the viewers are: the growth over the connections is the memory per connection,
reported for streams and viewers apart and together. The file-descriptor limit is raised in the
server and the load processes; the figure says so if the machine could not.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time

from bench.common import (
    Environment,
    Row,
    bulk_tokens,
    open_fds,
    print_table,
    process_tree,
    raise_fd_limit,
    rss_bytes,
    say,
    stop,
    stream_errors,
)
from bench.live import final_seqs
from bench.load import idle_producer_process, idle_viewer_process
from harness.producer import RawStream

CONNECTIONS_PER_PROCESS = 2500
VIEWERS_PER_PLOT = 10


def nearly(connections: int) -> int:
    """How many more descriptors mean (nearly) all `connections` are held: a few short of it, as
    the server's own database and Redis connections open and close beside them."""
    return connections - max(5, connections // 50)


def settle(pid: int, fds_at_least: int, timeout: float = 300) -> int:
    """Wait until the server holds (nearly) all the connections and its RSS stops moving; return the RSS.

    Nearly: a few descriptors counted in the reading before may have been closing connections.
    """
    deadline = time.monotonic() + timeout
    last = -1
    while time.monotonic() < deadline:
        pids = process_tree(pid)
        rss = rss_bytes(pids)
        if open_fds(pids) >= fds_at_least and abs(rss - last) <= last * 0.002:
            return rss
        last = rss
        time.sleep(1.0)
    return rss_bytes(process_tree(pid))


def start_processes(target, port: int, items: list, context) -> tuple[list, list, object]:
    results = context.Queue()
    processes, controls = [], []
    parts = max(1, math.ceil(len(items) / CONNECTIONS_PER_PROCESS))
    for i in range(parts):
        ours, theirs = context.Pipe()
        process = context.Process(target=target, args=(port, items[i::parts], theirs, results))
        process.start()
        processes.append(process)
        controls.append(ours)
    return processes, controls, results


def run(env: Environment, *, streams: int, viewers: int) -> dict:
    """Open the streams, then the viewers; return RSS figures, and the accounting of the streams."""
    limit = raise_fd_limit()
    server = env.server("memory", STREAM_IDLE_TIMEOUT="3600")
    context = multiprocessing.get_context("fork")
    try:
        user = env.user(server)
        tokens = bulk_tokens(env, user.username, streams + 1)
        warm, tokens = tokens[0], tokens[1:]
        say(f"memory: {len(tokens)} tokens made")
        plot_ids = [user.make_plot([t])["id"] for t in tokens[: max(1, math.ceil(viewers / VIEWERS_PER_PLOT))]]
        # Warm up: one stream and one viewer through every code path before the first reading.
        # (Plain sockets: the caller may be inside an event loop already, as under pytest.)
        warm_stream = RawStream(server.port, warm).open()
        warm_stream.write({"x": 0, "y": 0})
        assert warm_stream.end().status == 200
        final_seqs(server.port, plot_ids[:1])
        pid = server.process.pid
        base_fds = open_fds(process_tree(pid))
        rss0 = settle(pid, 0)
        say(f"memory: warmed up, RSS {rss0 / 2**20:.0f} MB; opening {streams} streams")

        producers, producer_controls, producer_results = start_processes(
            idle_producer_process, server.port, tokens, context
        )
        opened = [producer_results.get(timeout=900) for _ in producers]
        rss1 = settle(pid, base_fds + nearly(streams))
        fds1 = open_fds(process_tree(pid))
        say(f"memory: {opened} streams open, RSS {rss1 / 2**20:.0f} MB; opening {viewers} viewers")

        watchers, viewer_controls, viewer_results = start_processes(
            idle_viewer_process, server.port, [plot_ids[i % len(plot_ids)] for i in range(viewers)], context
        )
        watching = [viewer_results.get(timeout=900) for _ in watchers]
        rss2 = settle(pid, fds1 + nearly(viewers))
        say(f"memory: {watching} viewers open, RSS {rss2 / 2**20:.0f} MB; closing")

        for control in viewer_controls:
            control.send("close")
        [viewer_results.get(timeout=300) for _ in watchers]
        for control in producer_controls:
            control.send("end")
        answers = [a for _ in producers for a in producer_results.get(timeout=900)]
        for process in producers + watchers:
            process.join(timeout=30)
    finally:
        stopped = stop(server)
    streams_open = sum(o["opened"] for o in opened)
    viewers_open = sum(w["opened"] for w in watching)
    per_stream = (rss1 - rss0) / streams_open if streams_open else None
    per_viewer = (rss2 - rss1) / viewers_open if viewers_open else None
    both = streams_open + viewers_open
    return {
        "streams": streams,
        "viewers": viewers,
        "streams_open": streams_open,
        "viewers_open": viewers_open,
        "fd_limit": limit,
        "rss_before_mb": rss0 / 2**20,
        "rss_streams_mb": rss1 / 2**20,
        "rss_all_mb": rss2 / 2**20,
        "kb_per_stream": per_stream / 1024 if per_stream is not None else None,
        "kb_per_viewer": per_viewer / 1024 if per_viewer is not None else None,
        "kb_per_connection": (rss2 - rss0) / both / 1024 if both else None,
        "sent": sum(a["sent"] for a in answers),
        "accepted": sum(a["accepted"] for a in answers),
        "rejected": sum(a["rejected"] for a in answers),
        "stream_errors": stream_errors(answers),
        "server_stop": stopped,
    }


def row(figures: dict) -> Row:
    streams, viewers = figures["streams"], figures["viewers"]
    opened = ""
    if figures["streams_open"] < streams or figures["viewers_open"] < viewers:
        opened = f" (only {figures['streams_open']:,} streams and {figures['viewers_open']:,} viewers opened)"
    measured = (
        f"{figures['kb_per_connection']:.1f} KB per connection "
        f"({figures['kb_per_stream']:.1f} KB a stream, {figures['kb_per_viewer']:.1f} KB a viewer; "
        f"RSS {figures['rss_before_mb']:.0f} -> {figures['rss_all_mb']:.0f} MB){opened}"
    )
    return Row(
        f"(g) {streams:,} idle streams + {viewers:,} idle viewers",
        measured,
        "<= 12 KB per connection at 10,000 + 2,000",
        "issue 8: 20.9 KB per connection at 2,000 + 500",
        "",
        figures,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    parser.add_argument("--streams", type=int, help="one size only: this many idle streams")
    parser.add_argument("--viewers", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="200 streams + 50 viewers")
    args = parser.parse_args(argv)
    raise_fd_limit()
    if args.quick:
        sizes = [(200, 50)]
    elif args.streams:
        sizes = [(args.streams, args.viewers)]
    else:
        sizes = [(2000, 500), (10000, 2000)]
    with Environment() as env:
        table = [row(run(env, streams=s, viewers=v)) for s, v in sizes]
        print_table(table, f"plotserver memory per connection ({env.description})")


if __name__ == "__main__":
    main()
