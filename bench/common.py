"""What every benchmark scenario shares: the server under test, its CPU and memory, and the results.

The server is a real uvicorn subprocess (harness/live_server.py) on a database of its own, beside
the one in DATABASE_URL (PostgreSQL), with Redis as the channel layer when REDIS_URL is set:
the deployment the figures are for. Without them it runs on SQLite and the in-memory layer,
which is fine for the smoke tests but says nothing about production.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness.live_server import ROOT, START_WAIT, IntegrationDatabase, LiveServer, manage, new_user, wait_for

RESULTS = ROOT / "bench" / "results"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def raise_fd_limit(wanted: int = 1 << 20) -> int:
    """Raise this process's open-file limit as far as the hard limit allows; return the new limit.

    Children (the server, load processes) inherit it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# -- the server's processes, read from /proc ----------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (uvicorn --workers N runs N children under a supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def cpu_by_process(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each of these processes still running (utime + stime in
    /proc/<pid>/stat), in seconds."""
    times = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)
    return times


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes, together."""
    return sum(cpu_by_process(pids).values())


def rss_bytes(pids: list[int]) -> int:
    """Resident memory of these processes (/proc/<pid>/statm)."""
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
    return total


def open_fds(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            continue
    return total


class Meter:
    """CPU and wall time of a server's process tree between `start()` and `stop()`, in all and
    process by process (uvicorn --workers: the supervisor and each worker); with a `counter`
    (bench.server_counts), its counts over the same span too (`counts`)."""

    def __init__(self, pid: int, counter: Callable[[], dict[str, float]] | None = None) -> None:
        self.pid = pid
        self.pids = process_tree(pid)
        self.counter = counter
        self.counts: dict[str, float] = {}

    def start(self) -> Meter:
        self.pids = process_tree(self.pid)
        self.fds = {pid: open_fds([pid]) for pid in self.pids}  # a worker's share of the connections
        self.roles = {pid: self.role(pid) for pid in self.pids}
        self.counts0 = self.counter() if self.counter else {}
        self.cpu0, self.wall0 = cpu_by_process(self.pids), time.monotonic()
        return self

    def stop(self, wall: float | None = None) -> Meter:
        """Stop; `wall` replaces the time since start() when the load's own clocks know better."""
        now = cpu_by_process(self.pids)
        self.cpu_each = {pid: now[pid] - self.cpu0.get(pid, 0.0) for pid in now}
        self.cpu = sum(self.cpu_each.values())
        self.wall = time.monotonic() - self.wall0 if wall is None else wall
        if self.counter:
            counts = self.counter()
            self.counts = {key: counts[key] - self.counts0[key] for key in counts}
        return self

    def role(self, pid: int) -> str:
        """The server (one process), or the supervisor and its workers (uvicorn --workers starts
        them with multiprocessing's spawn), or another child: multiprocessing's resource tracker,
        a browser."""

        def command(of: int) -> bytes:
            try:
                return Path(f"/proc/{of}/cmdline").read_bytes()
            except OSError:
                return b""

        if pid != self.pid:
            return "worker" if b"spawn_main" in command(pid) else "child"
        supervising = any(b"spawn_main" in command(child) for child in self.pids if child != pid)
        return "supervisor" if supervising else "server"

    def processes(self) -> list[dict]:
        """Each process's CPU over the span (seconds, and as a share of one core) and the files it
        held open at the start: the supervisor (the process started) first, then its children."""
        return [
            {
                "role": self.roles[pid],
                "pid": pid,
                "cpu_seconds": cpu,
                "cpu_load": cpu / self.wall if self.wall else 0.0,
                "open_files_at_start": self.fds.get(pid, 0),
            }
            for pid, cpu in self.cpu_each.items()
        ]

    @property
    def load(self) -> float:
        """CPU time over wall time: 1.0 is one core busy all along."""
        return self.cpu / self.wall if self.wall else 0.0


# -- the environment: a database, a server, a user ------------------------------------------------


class Environment:
    """A database of the benchmark's own and the settings its servers share; dropped at the end.

    Given a `database` (the test suite's), it uses that one and leaves it for its owner to drop.
    """

    def __init__(self, database: IntegrationDatabase | None = None) -> None:
        self.artifacts = Path(tempfile.mkdtemp(prefix="plotserver-bench-"))
        self.owns_database = database is None
        self.database = database or IntegrationDatabase(self.artifacts)
        self.env = dict(self.database.env)
        self.env["REDIS_PREFIX"] = f"plotserver-bench-{uuid.uuid4().hex[:8]}"
        # Every load process connects from 127.0.0.1: the per-address cap that guards a real
        # server (HTTP_MAX_CONNECTIONS_PER_CLIENT) would refuse the thousand viewers of row (a).
        self.env["HTTP_MAX_CONNECTIONS_PER_CLIENT"] = "0"
        # The ingest rows measure how fast one stream can go: past the per-token write rate that
        # guards other users (STREAM_TOKEN_RATE) they would measure the rate instead.
        self.env["STREAM_TOKEN_RATE"] = "1e9"
        self.env["STREAM_TOKEN_BURST"] = "1e9"
        if os.environ.get("REDIS_URL"):
            self.env["REDIS_URL"] = os.environ["REDIS_URL"]

    @property
    def description(self) -> str:
        db = "PostgreSQL" if self.database.admin_url else "SQLite"
        layer = "Redis pub/sub layer" if self.env.get("REDIS_URL") else "in-memory layer"
        return f"{db}, {layer}"

    def server(self, name: str, workers: int = 1, **env: str) -> LiveServer:
        args: tuple = ("--timeout-graceful-shutdown", "5")
        if workers > 1:
            args += ("--workers", str(workers))
        server = LiveServer({**self.env, **env}, self.artifacts, name=name, extra_args=args).start()
        if workers > 1:  # it answers once one worker does; until the others start, that one takes every connection
            started = f"all {workers} workers started (log: {server.log_path})"
            wait_for(
                lambda: server.log_text().count("Application startup complete") >= workers, START_WAIT, 0.1, started
            )
        return server

    def null_server(self, workers: int = 1) -> LiveServer:
        args: tuple = ("--app-dir", str(ROOT / "bench"), "--log-level", "warning")
        if workers > 1:
            args += ("--workers", str(workers))
        return LiveServer(self.env, self.artifacts, name="null", extra_args=args, app="null_app:app").start()

    def user(self, server: LiveServer):
        return new_user(self.env, server.url)

    def close(self) -> None:
        if self.owns_database:
            self.database.drop()

    def __enter__(self) -> Environment:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- figures and results --------------------------------------------------------------------------


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p99 and max of latencies in seconds, as milliseconds."""
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None, "samples": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": at(0.50), "p99_ms": at(0.99), "max_ms": ordered[-1] * 1000, "samples": len(ordered)}


@dataclass
class Row:
    """One line of the results table: a figure beside its target and the baseline it compares to."""

    scenario: str
    measured: str
    target: str = ""
    baseline: str = ""
    ratio: str = ""
    figures: dict = field(default_factory=dict)


def machine() -> dict:
    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(int(meminfo[1]) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_at_start": os.getloadavg(),
    }


def print_table(rows: list[Row], title: str) -> None:
    headers = ("scenario", "measured", "target", "baseline", "ratio")
    cells = [headers] + [(r.scenario, r.measured, r.target, r.baseline, r.ratio) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for i, cell in enumerate(cells):
        print("  " + " | ".join(text.ljust(width) for text, width in zip(cell, widths, strict=True)))
        if i == 0:
            print("  " + "-+-".join("-" * width for width in widths))


def write_results(rows: list[Row], path: Path, environment: str, started: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "environment": environment,
        "machine": machine(),
        "rows": [asdict(r) for r in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} ms" if value < 10 else f"{value:,.0f} ms"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def bulk_tokens(env: Environment, username: str, count: int) -> list[str]:
    """Make `count` stream tokens for a user at once, as an operator would in `manage.py shell`.

    Setup only: the REST API makes one token a request (about 12 ms of server CPU each here),
    which would turn a 10,000-stream scenario into minutes of setup.
    """
    code = (
        "from django.contrib.auth import get_user_model\n"
        "from core.models import StreamToken\n"
        f"owner = get_user_model().objects.get(username={username!r})\n"
        f"made = StreamToken.objects.bulk_create([StreamToken(owner=owner) for _ in range({count})])\n"
        "print('\\n'.join('token ' + t.token for t in made))\n"
    )
    output = manage("shell", "-c", code, env=env.env)
    tokens = [line.split()[1] for line in output.splitlines() if line.startswith("token ")]
    assert len(tokens) == count, tokens[-5:]
    return tokens


def say(message: str) -> None:
    """Progress on stderr, so a long run shows where it is."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def stream_errors(answers: list[dict]) -> list[str]:
    """The distinct troubles of producers' answers (anything but a clean 200), a few of them."""
    return sorted({a["error"] or str(a["status"]) for a in answers if a["error"] or a["status"] != 200})[:5]


def ratio(numerator: float | None, denominator: float | None, unit: str, digits: int = 1) -> str:
    if not numerator or not denominator:
        return ""
    return f"{numerator / denominator:.{digits}f}x {unit}"


def stop(server: LiveServer, timeout: float = 60) -> str:
    """Stop a server (SIGTERM, then SIGKILL after `timeout`); return "" or what went wrong.

    A server that cannot stop is a finding of the scenario, not a reason to lose the whole run.
    """
    try:
        server.stop(timeout=timeout)
    except AssertionError:
        return f"did not stop within {timeout:g} s of SIGTERM: killed"
    return ""
