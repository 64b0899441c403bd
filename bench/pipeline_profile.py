"""Server CPU per ingested point: many producers writing 10-line chunks as fast as they can.

    DATABASE_URL=postgres://… REDIS_URL=redis://… python -m bench.pipeline_profile [--code DIR]
        [--producers 20] [--points 20000] [--maxpoints 500] [--workers 1]

Starts plotserver (the code in --code, this checkout by default) under uvicorn on a database of
its own made beside DATABASE_URL's, runs the producers in their own processes, and prints points
a second and the server's CPU time per point (user + system, all its processes), which does not
depend on how busy the machine is. A run ends when every producer has its answer, i.e. when
everything accepted is stored.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK_LINES = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and its children (uvicorn's workers)."""
    total = 0.0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def produce(port: int, token: str, points: int, results) -> None:
    """One producer: a chunked POST of `points` lines in 10-line chunks, then its answer."""
    lines = b"".join(b'{"x": %d, "y": %d}\n' % (i, i % 97) for i in range(CHUNK_LINES))
    chunk = b"%x\r\n%s\r\n" % (len(lines), lines)
    block = chunk * 50
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nplotly-streamtoken: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
        % token.encode()
    )
    sent = 0
    while sent < points:
        sock.sendall(block)
        sent += 50 * CHUNK_LINES
    sock.sendall(b"0\r\n\r\n")
    answer = b""
    while chunk_in := sock.recv(65536):
        answer += chunk_in
    sock.close()
    body = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    results.put((sent, body.get("accepted", 0)))


def manage(code: Path, env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=code, env=env, check=True, capture_output=True, text=True
    ).stdout


SETUP = """
from django.contrib.auth import get_user_model
from core.models import Plot, StreamToken, Trace
owner = get_user_model().objects.create_user("bench")
for i in range({producers}):
    token = StreamToken.objects.create(owner=owner)
    plot = Plot.objects.create(owner=owner)
    Trace.objects.create(plot=plot, index=0, spec={{"x": [], "y": []}}, stream_token=token, maxpoints={maxpoints})
    print("TOKEN", token.token)
"""


def run(code: Path, producers: int, points: int, maxpoints: int, workers: int, http: str = "httptools") -> dict:
    import psycopg

    base = os.environ["DATABASE_URL"]
    name = f"plotserver_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": f"{base.rpartition('/')[0]}/{name}"}
    env["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "WARNING")
    env["REDIS_PREFIX"] = name
    env.setdefault("SECRET_KEY", f"bench-{uuid.uuid4().hex}")
    # As in `make bench`: past the per-token write rate and the per-address connection cap
    # (both guard other users) the run would measure the limits instead of the pipeline.
    env.update(STREAM_TOKEN_RATE="1e9", STREAM_TOKEN_BURST="1e9", HTTP_MAX_CONNECTIONS_PER_CLIENT="0")
    server = None
    try:
        manage(code, env, "migrate", "--noinput")
        setup = manage(code, env, "shell", "-c", SETUP.format(producers=producers, maxpoints=maxpoints))
        tokens = [line.split()[1] for line in setup.splitlines() if line.startswith("TOKEN ")]
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                # BENCH_PROFILE=file: the server runs under cProfile (one worker), written at its stop.
                *(("-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]) if os.environ.get("BENCH_PROFILE") else ()),
                *("-m", "uvicorn", "plotserver.asgi:application", "--http", http),
                *("--port", str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"),
            ],
            cwd=code,
            env=env,
            stdout=open(os.environ.get("BENCH_SERVER_LOG", os.devnull), "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1 if workers == 1 else 3)
        results = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=produce, args=(port, t, points, results)) for t in tokens]
        cpu_before, started = cpu_seconds(server.pid), time.perf_counter()
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=900) for _ in procs]
        elapsed, cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu_before
        for p in procs:
            p.join()
        sent = sum(s for s, _ in outcomes)
        accepted = sum(a for _, a in outcomes)
        return {
            "producers": producers,
            "maxpoints": maxpoints,
            "workers": workers,
            "sent": sent,
            "accepted": accepted,
            "points_per_s": round(accepted / elapsed),
            "server_cpu_us_per_point": round(cpu / accepted * 1e6, 2),
        }
    finally:
        if server is not None:
            # SIGINT, not SIGTERM: uvicorn raises the signal again once it has stopped, and only
            # SIGINT (a KeyboardInterrupt) lets cProfile write BENCH_PROFILE on the way out.
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", type=Path, default=ROOT)
    parser.add_argument("--producers", type=int, default=20)
    parser.add_argument("--points", type=int, default=20000, help="points per producer")
    parser.add_argument("--maxpoints", type=int, default=500)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--http", default="httptools", help="uvicorn's --http (plotserver.http:GuardedHttpToolsProtocol, as served)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.code, args.producers, args.points, args.maxpoints, args.workers, args.http)))


if __name__ == "__main__":
    main()
