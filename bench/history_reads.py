"""History: a week at 1 point/s, its storage per point, and range reads of it (row (i)).

    python -m bench.history_reads                  604,800 points (a week at 1/s), numeric x and date x
    python -m bench.history_reads --points 100000
    python -m bench.history_reads --quick          10,000 points: checks that it runs

A real server on a database of its own (PostgreSQL with DATABASE_URL). Two plots that keep
everything (`retention: forever`), each with one stream, are backfilled through the stream
port at full speed, one line per point as a producer writes them (`{"x": ..., "y": ...}`): one
with x in epoch milliseconds, one with x as date strings. The server's history job runs every
second and folds whatever is checkpointed; each measurement waits until it has folded every
stored row into blocks (PostgreSQL; on SQLite the reads take the rows not folded yet). Then:

- storage: the stream rows and history blocks with their indexes and TOAST
  (pg_total_relation_size), divided by the points stored, and the JSON text of the rows left
  per point; for the backfilled
  week (thousands of lines a row) and for 3,000 lines a few milliseconds apart (a row for each
  one or few, as a live sensor's commits store them; measured last, on tables in use);
- range reads over HTTP as a viewer makes them: the whole week to 2,000 points by lttb and
  minmax, a day of it by lttb, the first 2,000 with method=none (median of `--reads`
  requests each, after one warm-up);
- the raw week as an NDJSON download (MB/s).
"""

from __future__ import annotations

# Not named bench/history.py: `uvicorn --app-dir bench` (the bare app of row (e)) puts this folder
# first on the path, where that name would hide the `history` app that settings import.
import argparse
import json
import socket
import statistics
import time
import urllib.request
from datetime import UTC, datetime, timedelta

from bench.common import Environment, Row, print_table, say, stop
from harness.live_server import LiveServer

WEEK = 7 * 86400
TARGET_MS = 150
LINES_PER_CHUNK = 5000
START = datetime(2026, 1, 5, tzinfo=UTC)


def backfill(port: int, token: str, points: int, dates: bool) -> int:
    """Stream `points` lines, one per second of x, as one chunked POST; lines accepted."""
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        sock.sendall(
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nplotly-streamtoken: {token}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        start_ms = int(START.timestamp() * 1000)
        for first in range(0, points, LINES_PER_CHUNK):
            lines = []
            for i in range(first, min(points, first + LINES_PER_CHUNK)):
                y = (i * 7919) % 1000 / 10
                if dates:
                    x = (START + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S")
                    lines.append(f'{{"x": "{x}", "y": {y}}}\n')
                else:
                    lines.append(f'{{"x": {start_ms + i * 1000}, "y": {y}}}\n')
            data = "".join(lines).encode()
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        sock.sendall(b"0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    return json.loads(raw.partition(b"\r\n\r\n")[2])["accepted"]


# Where history is stored: the stream rows not folded yet, and the blocks with their marks.
TABLES = ("streaming_streamchunk", "history_historyblock", "history_historyfold")


def table_bytes(env: Environment) -> dict:
    """What history takes on PostgreSQL: the tables with their indexes and TOAST, the stream
    rows and blocks stored, and the JSON text of the rows."""
    if not env.database.admin_url:
        return {}
    import psycopg

    with psycopg.connect(env.database.url, autocommit=True) as conn:
        total = indexes = blocks_total = blocks_indexes = 0
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")  # settled sizes, as after a while in production
            size, index_size = conn.execute(
                "SELECT pg_total_relation_size(%s), pg_indexes_size(%s)", (table, table)
            ).fetchone()
            total, indexes = total + size, indexes + index_size
            if table.startswith("history_"):
                blocks_total, blocks_indexes = blocks_total + size, blocks_indexes + index_size
        rows, blocks, text = conn.execute(
            "SELECT (SELECT count(*) FROM streaming_streamchunk), (SELECT count(*) FROM history_historyblock),"
            " (SELECT coalesce(sum(length(plots::text)), 0) FROM streaming_streamchunk)"
        ).fetchone()
    return {
        "total": total,
        "indexes": indexes,
        "blocks_total": blocks_total,
        "blocks_indexes": blocks_indexes,
        "rows": rows,
        "blocks": blocks,
        "json_text": text,
    }


def wait_folded(env: Environment, timeout: float = 900, quiet: float = 3.0) -> float | None:
    """Wait until the history job has folded what it can into blocks: no stream rows left, or
    their count unchanged for `quiet` seconds (the rows after a stream's last checkpoint stay
    rows until its next one, and reads take them as they are); seconds waited. None where the
    database cannot be looked at from here (SQLite: reads then take the rows not folded yet)."""
    if not env.database.admin_url:
        return None
    import psycopg

    started = time.perf_counter()
    last, since = -1, started
    with psycopg.connect(env.database.url, autocommit=True) as conn:
        while rows := conn.execute("SELECT count(*) FROM streaming_streamchunk").fetchone()[0]:
            now = time.perf_counter()
            if rows != last:
                last, since = rows, now
            elif now - since >= quiet:
                break
            if now - started > timeout:
                raise TimeoutError("the history job did not fold the stream rows in time")
            time.sleep(0.5)  # polling the condition, with the deadline above
    return round(time.perf_counter() - started, 1)


def per_point(after: dict, before: dict, points: int) -> dict:
    """Bytes per point of what was stored between two table_bytes()."""
    if not after:
        return {}
    grew = {key: after[key] - before.get(key, 0) for key in after}
    return {
        "points": points,
        "rows": grew["rows"],
        "blocks": grew["blocks"],
        "bytes_per_point": round(grew["total"] / points, 1),
        "of_which_indexes": round(grew["indexes"] / points, 1),
        # The blocks alone: the rows' table keeps the pages its removed rows used (VACUUM
        # leaves them for the next rows), which a few thousand points cannot amortize.
        "blocks_bytes_per_point": round(grew["blocks_total"] / points, 1),
        "blocks_indexes_per_point": round(grew["blocks_indexes"] / points, 1),
        "json_text_bytes_per_point": round(grew["json_text"] / points, 1),
    }


def live_stream(port: int, token: str, points: int) -> int:
    """Lines a few milliseconds apart, as a sensor writes them: a commit (a row) for each one
    or few. Lines accepted."""
    with socket.create_connection(("127.0.0.1", port), timeout=600) as sock:
        sock.sendall(
            f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nplotly-streamtoken: {token}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n".encode()
        )
        for i in range(points):
            data = f'{{"x": {1767571200000 + i * 1000}, "y": {(i * 7919) % 1000 / 10}}}\n'.encode()
            sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
            time.sleep(0.003)
        sock.sendall(b"0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    return json.loads(raw.partition(b"\r\n\r\n")[2])["accepted"]


def timed_get(url: str, reads: int) -> dict:
    """Median and max milliseconds of `reads` GETs (after one warm-up), and the last answer."""
    answer = None
    times = []
    for i in range(reads + 1):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=120) as response:
            body = response.read()
        if i:
            times.append((time.perf_counter() - started) * 1000)
        answer = json.loads(body)
    return {
        "median_ms": round(statistics.median(times), 1),
        "max_ms": round(max(times), 1),
        "returned": answer["returned"],
        "total": answer["total"],
    }


def download_rate(url: str) -> dict:
    started = time.perf_counter()
    size = lines = 0
    with urllib.request.urlopen(url, timeout=600) as response:
        for line in response:
            size += len(line)
            lines += 1
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "lines": lines, "mb_per_s": round(size / seconds / 1e6, 1)}


def run(env: Environment, points: int, reads: int) -> dict:
    # The history job every second, folding whatever is checkpointed (HISTORY_FOLD_AGE 0):
    # what is measured is the folded store, as it is once the job has caught up.
    server: LiveServer = env.server("history", HISTORY_PRUNE_INTERVAL="1", HISTORY_FOLD_AGE="0")
    try:
        user = env.user(server)
        figures: dict = {"points": points}
        before = table_bytes(env)
        for kind in ("numbers", "dates"):
            token = user.make_token(kind)
            plot = user.make_plot([token], maxpoints=500, title=f"week of {kind}")
            user.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "forever"})
            say(f"bench.history_reads: backfilling {points:,} points ({kind} x)")
            started = time.perf_counter()
            accepted = backfill(server.port, token, points, dates=kind == "dates")
            backfill_s = time.perf_counter() - started
            fold_s = wait_folded(env)
            base = f"{server.url}/api/plots/{plot['id']}/traces/0/points/"
            if kind == "numbers":
                start_ms = int(START.timestamp() * 1000)
                day = f"from={start_ms + 2 * 86400_000}&to={start_ms + 3 * 86400_000}"
            else:
                day = "from=2026-01-07&to=2026-01-08"
            say(f"bench.history_reads: range reads ({kind} x)")
            figures[kind] = {
                "accepted": accepted,
                "backfill_points_per_s": round(accepted / backfill_s),
                "fold_wait_s": fold_s,
                "week_lttb_2000": timed_get(f"{base}?max_points=2000&method=lttb", reads),
                "week_minmax_2000": timed_get(f"{base}?max_points=2000&method=minmax", reads),
                "day_lttb_2000": timed_get(f"{base}?{day}&max_points=2000&method=lttb", reads),
                "first_2000_none": timed_get(f"{base}?max_points=2000&method=none", reads),
                "ndjson_week": download_rate(f"{base}?format=ndjson"),
            }
        backfilled = table_bytes(env)
        figures["storage"] = per_point(backfilled, before, 2 * points)
        # Last, so that what it adds is measured on tables already in use (an empty table's
        # first pages and index roots would weigh more than a few thousand points).
        token = user.make_token("live")
        plot = user.make_plot([token], maxpoints=500, title="live rate")
        user.ok("PATCH", f"/api/plots/{plot['id']}/", {"retention": "forever"})
        live_points = min(points, 3000)
        say(f"bench.history_reads: {live_points:,} points a few ms apart")
        live_stream(server.port, token, live_points)
        figures["fold_wait_live_s"] = wait_folded(env)
        figures["storage_live_rate"] = per_point(table_bytes(env), backfilled, live_points)
    finally:
        stop(server)
    return figures


def row(figures: dict) -> Row:
    numbers = figures["numbers"]["week_lttb_2000"]["median_ms"]
    dates = figures["dates"]["week_lttb_2000"]["median_ms"]
    backfilled = figures["storage"].get("bytes_per_point")
    live = figures["storage_live_rate"].get("blocks_bytes_per_point")
    measured = f"{figures['points']:,} points to 2,000 (lttb): {numbers:,.0f} ms numeric x, {dates:,.0f} ms date x"
    if backfilled is not None:
        measured += (
            f"; stored {backfilled:,.1f} B/point backfilled, {live:,.1f} B/point in blocks from a line per commit"
        )
    return Row(
        scenario="(i) history: a week at 1 point/s, read to 2,000 points",
        measured=measured,
        target=f"≤ {TARGET_MS} ms; ≤ 16 B/point",
        baseline="",
        ratio=f"{numbers / TARGET_MS:.1f}x target",
        figures=figures,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.history_reads", description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=WEEK)
    parser.add_argument("--reads", type=int, default=5, help="timed requests per kind of read")
    parser.add_argument("--quick", action="store_true", help="10,000 points")
    args = parser.parse_args(argv)
    points = 10_000 if args.quick else args.points
    with Environment() as env:
        result = row(run(env, points, 2 if args.quick else args.reads))
        print_table([result], f"plotserver history ({env.description})")
        print(json.dumps(result.figures, indent=2))


if __name__ == "__main__":
    main()
