"""Real plotserver processes for integration tests: uvicorn subprocesses on their own database.

Tests talk to them only as users do: REST, raw sockets, WebSockets and a browser.
"""

from __future__ import annotations

import atexit
import base64
import fcntl
import http.client
import json
import os
import secrets
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Servers under test run in production mode (DEBUG off), which needs a key: one throwaway key
# per run, shared by every server and command of the run (tests/settings.py sets the same).
os.environ.setdefault("SECRET_KEY", f"plotserver-test-{secrets.token_urlsafe(48)}")

# Servers started with --ssl-certfile use a test certificate: the harness does not verify it.
TEST_TLS = ssl._create_unverified_context()
# How long a server waits for a fixed stream port (80) that another test process's server holds:
# the longest a test module keeps such a server, with a wide margin for a loaded machine.
FIXED_PORT_WAIT = 900


# How long a server may take to start answering: a deadline for a loaded machine, not a bound on
# how fast it starts. Two --workers processes importing Django on two cores shared with the rest
# of the suite (and other work) took over 30 s.
START_WAIT = 90


def wait_for(condition: Callable[[], object], timeout: float = 10.0, interval: float = 0.02, message: str = ""):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except AssertionError as exc:
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message or condition}") from last_error


def _ephemeral_ports() -> range:
    """The ports the kernel hands out to outgoing connections (and to a bind on port 0)."""
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_port() -> int:
    """A port free now, for a server that binds it a moment later.

    Chosen below the ephemeral range: a port the kernel picked (a bind on port 0) is one it may
    give the next outgoing connection of any process (to PostgreSQL, Redis, a server under test)
    before the server binds it, and the server then fails to start ("address already in use").
    """
    ephemeral = _ephemeral_ports()
    candidates = range(10000, ephemeral.start) if ephemeral.start > 11000 else range(ephemeral.stop, 65536)
    for _ in range(100):
        port = secrets.choice(candidates)
        with socket.socket() as sock:
            try:
                sock.bind(("0.0.0.0", port))  # free on every address: servers here bind 0.0.0.0 too
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {candidates}")


class IntegrationDatabase:
    """A database of its own for server subprocesses: a SQLite file, or a PostgreSQL database
    made beside the one in DATABASE_URL."""

    def __init__(self, tmp_dir: Path, base: str | None = None) -> None:
        base = os.environ.get("DATABASE_URL", "") if base is None else base
        self.admin_url: str | None = None
        if base.startswith(("postgres://", "postgresql://")):
            import psycopg

            self.name = f"plotserver_it_{uuid.uuid4().hex[:8]}"
            prefix, _, _ = base.rpartition("/")
            self.admin_url = base
            self.url = f"{prefix}/{self.name}"
            try:
                with psycopg.connect(base, autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{self.name}"')
            except psycopg.OperationalError as error:
                raise RuntimeError(
                    f"DATABASE_URL must name a PostgreSQL database that exists (one of its own is made"
                    f" beside it, as {self.name}): {str(error).strip()}"
                ) from error
        else:
            self.url = f"sqlite:///{tmp_dir / 'integration.sqlite3'}"
        self.env = {"DATABASE_URL": self.url}
        manage("migrate", "--noinput", env=self.env)

    def drop(self) -> None:
        if self.admin_url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def server_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_SETTINGS"))}
    env.update({"PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "plotserver.settings"})
    env.update(extra)
    return env


# How long a manage.py command may take: a deadline for a loaded machine.
MANAGE_TIMEOUT = 120
# The commands a long-lived worker runs (harness/manage_worker.py) instead of a manage.py process
# of their own: the ones tests run most (making users and keys), which leave nothing behind in
# the process. Others (migrate, demo) get a fresh process, as do commands run with `fresh=True`.
IN_WORKER = {"apikey", "shell"}
# Workers kept, one per environment, the least recently used stopped beyond it.
MANAGE_WORKERS = 3
_workers: dict[tuple[tuple[str, str], ...], subprocess.Popen[str]] = {}


def manage(*args: str, env: dict[str, str], fresh: bool = False) -> str:
    """What `manage.py *args` prints, with the settings `env` gives; RuntimeError if it fails."""
    if args[0] in IN_WORKER and not fresh:
        status, stdout, stderr = _in_worker(list(args), env)
    else:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=server_env(env),
            capture_output=True,
            text=True,
            timeout=MANAGE_TIMEOUT,
        )
        status, stdout, stderr = result.returncode, result.stdout, result.stderr
    if status != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{stdout}\n{stderr}")
    return stdout


def _in_worker(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    key = tuple(sorted(env.items()))
    worker = _workers.pop(key, None)
    if worker is None or worker.poll() is not None:
        worker = subprocess.Popen(
            [sys.executable, "-m", "harness.manage_worker"],
            cwd=ROOT,
            env=server_env(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    _workers[key] = worker  # the most recently used last
    while len(_workers) > MANAGE_WORKERS:
        _stop_worker(_workers.pop(next(iter(_workers))))
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(json.dumps(args) + "\n")
    worker.stdin.flush()
    ready, _, _ = select.select([worker.stdout], [], [], MANAGE_TIMEOUT)
    answer = worker.stdout.readline() if ready else ""
    if not answer:
        _stop_worker(_workers.pop(key))
        return 1, "", f"the manage.py worker gave no answer in {MANAGE_TIMEOUT}s (it exited or hung)"
    result = json.loads(answer)
    return result["status"], result["stdout"], result["stderr"]


def _stop_worker(worker: subprocess.Popen[str]) -> None:
    worker.kill()
    worker.wait()


@atexit.register
def _stop_workers() -> None:
    for worker in _workers.values():
        _stop_worker(worker)
    _workers.clear()


class LiveServer:
    """`uvicorn plotserver.asgi:application --http plotserver.http:GuardedHttpToolsProtocol
    --ws-per-message-deflate false` in a subprocess, as the README and docs/deployment.md run it."""

    def __init__(
        self,
        env: dict[str, str],
        log_dir: Path,
        name: str = "server",
        extra_args: tuple = (),
        app: str = "plotserver.asgi:application",
    ) -> None:
        self.app = app
        self.env = env
        self.port = free_port()
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.extra_args = extra_args
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        scheme = "https" if "--ssl-certfile" in self.extra_args else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self._hold_fixed_stream_port()
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                self.app,
                "--http",
                "plotserver.http:GuardedHttpToolsProtocol",
                "--ws-per-message-deflate",
                "false",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                *self.extra_args,
            ],
            cwd=ROOT,
            env=server_env(self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self._ready, timeout=START_WAIT, message=f"server on port {self.port} (log: {self.log_path})")
        return self

    def _hold_fixed_stream_port(self) -> None:
        """A stream listener on a fixed port (port 80, where Plotly's clients stream) can be held
        by one server on the machine at a time: a server asking for it waits, up to
        FIXED_PORT_WAIT, until any other test process's server on it has stopped."""
        port = self.env.get("STREAM_PORT", "")
        self._port_lock = None
        if not port.isdigit() or int(port) >= 1024:  # a free port chosen for the test: its own
            return
        lock = open(Path(tempfile.gettempdir()) / f"plotserver-tests-stream-port-{port}.lock", "w")  # noqa: SIM115

        def taken() -> bool:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False

        held = f"stream port {port}, held by another test server"
        wait_for(taken, timeout=FIXED_PORT_WAIT, interval=0.5, message=held)
        self._port_lock = lock

    def _let_go_of_fixed_stream_port(self) -> None:
        lock = getattr(self, "_port_lock", None)
        if lock is not None:
            lock.close()  # closing the file releases its lock
            self._port_lock = None

    def _ready(self) -> bool:
        """True once the server answers HTTP at all (its answer may be a redirect or a refused host)."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_text()}")
        connection: http.client.HTTPConnection
        if self.url.startswith("https"):
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=2, context=TEST_TLS)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", "/login/")
            return connection.getresponse().status > 0
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the server and wait for it to exit; return its exit code."""
        if self.process is None or self.process.poll() is not None:
            self._let_go_of_fixed_stream_port()
            return self.process.returncode if self.process else 0
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"server did not stop within {timeout}s:\n{self.log_text()}") from None
        finally:
            self.log.close()
            self._let_go_of_fixed_stream_port()


def fetch(
    url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 30
) -> tuple[int, dict, str]:
    """One request as a plain client makes it, read to its end: the status, the headers (names in
    lower case) and the body, whatever the status."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=TEST_TLS) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


class Api:
    """A REST client for one user of a live server (or an anonymous visitor)."""

    def __init__(self, base_url: str, username: str | None = None, key: str | None = None) -> None:
        self.base_url = base_url
        self.username = username
        self.key = key
        self.stream_ids: dict[str, int] = {}  # token -> id, for the REST routes (tokens never go in URLs)

    def request(self, method: str, path: str, body: object = None, headers: dict | None = None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.username:
            credentials = base64.b64encode(f"{self.username}:{self.key}".encode()).decode()
            request.add_header("Authorization", f"Basic {credentials}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=TEST_TLS) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                return error.code, json.loads(raw)
            except ValueError:
                return error.code, raw.decode(errors="replace")

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body: object):
        return self.request("POST", path, body)

    def ok(self, method: str, path: str, body: object = None):
        status, data = self.request(method, path, body)
        assert 200 <= status < 300, f"{method} {path} -> {status}: {data}"
        return data

    def make_token(self, name: str = "") -> str:
        return self.make_stream(name)["token"]

    def make_stream(self, name: str = "", token: str | None = None) -> dict:
        """Make a stream token; return the whole answer (`id`, `token`, status fields)."""
        body = {"name": name} if token is None else {"name": name, "token": token}
        stream = self.ok("POST", "/api/streams/", body)
        self.stream_ids[stream["token"]] = stream["id"]
        return stream

    def make_mqtt_plot(self, name: str = "mqtt") -> tuple[str, dict, dict]:
        """A plot of one trace fed by a new token whose MQTT topic is one of its own, in this
        user's namespace (MQTT_TOPIC_PREFIX "plotserver"): (the topic, the token, the plot)."""
        topic = f"plotserver/{self.username}/{name}/{uuid.uuid4().hex[:8]}"
        stream = self.make_stream(name)
        self.ok("PATCH", f"/api/streams/{stream['id']}/", {"mqtt_topic": topic})
        return topic, stream, self.make_plot([stream["token"]])

    def stream_id(self, token: str) -> int:
        """The id of one of this user's tokens, looked up in the (paged) list when not made here."""
        if token not in self.stream_ids:
            path = "/api/streams/"
            while path:
                page = self.ok("GET", path)
                self.stream_ids.update({s["token"]: s["id"] for s in page["results"]})
                path = page["next"] and page["next"].removeprefix(self.base_url)
        return self.stream_ids[token]

    def stream_status(self, token: str) -> dict:
        """GET /api/streams/<id>/ for a token of this user: its stream's status."""
        return self.ok("GET", f"/api/streams/{self.stream_id(token)}/")

    def revoke(self, token: str) -> None:
        """DELETE /api/streams/<id>/: the token's open stream ends and new ones are refused."""
        self.ok("DELETE", f"/api/streams/{self.stream_id(token)}/")

    def make_plot(
        self,
        tokens: list[str],
        maxpoints: int = 500,
        sharing: str = "public",
        title: str = "live",
        retention: str | None = None,
    ) -> dict:
        traces = [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [],
                "y": [],
                "stream": {"token": t, "maxpoints": maxpoints},
            }
            for t in tokens
        ]
        plot = {"title": title, "sharing": sharing, "figure": {"data": traces}}
        if retention is not None:  # else the server's PLOT_RETENTION_DEFAULT
            plot["retention"] = retention
        return self.ok("POST", "/api/plots/", plot)

    def figure(self, plot_id: int, query: str = "") -> dict:
        return self.ok("GET", f"/api/plots/{plot_id}/figure/{query}")


def new_user(server_env_vars: dict[str, str], base_url: str, username: str | None = None) -> Api:
    username = username or f"user{uuid.uuid4().hex[:8]}"
    key = manage("apikey", username, "--create-user", env=server_env_vars).strip().splitlines()[-1]
    return Api(base_url, username, key)
