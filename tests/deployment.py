"""deploy/'s nginx, brought up for tests: its two files as shipped, only the addresses and ports
replaced, in front of any number of plotserver processes (tests/test_deployment.py,
tests/test_node_death.py). Skips where nginx is missing outside CI (.ci/run installs it).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.live_server import ROOT, LiveServer, free_port, wait_for
from tests.test_health_endpoints import OwnRedis

DEPLOY = ROOT / "deploy"
STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")


def render(path: Path, replacements: dict[str, str]) -> str:
    """The shipped file with its addresses and ports replaced; each one must be there."""
    text = path.read_text()
    for shipped, used in replacements.items():
        assert shipped in text, f"{path.name} no longer has {shipped!r}: update this test"
        text = text.replace(shipped, used)
    return text


class Nginx:
    """nginx in the foreground with deploy/'s two files, in a folder of its own."""

    def __init__(self, folder: Path, http_conf: str, stream_conf: str) -> None:
        executable = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if executable is None:
            if os.environ.get("CI"):
                pytest.fail("nginx is missing, and CI must run every test (.ci/run installs it)")
            pytest.skip("nginx is not installed (apt-get install nginx libnginx-mod-stream)")
        self.folder = folder
        (folder / "plotserver.conf").write_text(http_conf)
        (folder / "plotserver-stream.conf").write_text(stream_conf)
        load = f"load_module {STREAM_MODULE};" if STREAM_MODULE.exists() else ""
        user = "user root;" if os.geteuid() == 0 else ""
        temp = " ".join(
            f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (folder / "nginx.conf").write_text(
            f"""{load}
{user}
daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
    access_log {folder / "access.log"};
    {temp}
    include {folder / "plotserver.conf"};
}}
include {folder / "plotserver-stream.conf"};
"""
        )
        self.command = [
            executable,
            "-c",
            str(folder / "nginx.conf"),
            "-p",
            str(folder),
            "-e",
            str(folder / "error.log"),
        ]
        self.process: subprocess.Popen | None = None

    def start(self, http_port: int) -> Nginx:
        test = subprocess.run([*self.command, "-t"], capture_output=True, text=True, timeout=30, check=False)
        assert test.returncode == 0, test.stderr
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self._answers(http_port), timeout=20, message="nginx to answer")
        return self

    def _answers(self, port: int) -> bool:
        assert self.process.poll() is None, (self.folder / "error.log").read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


# The upstream lines of deploy/nginx/plotserver.conf: one per process, in the shipped form.
UPSTREAM_LINE = re.compile(r"^( *)server 127\.0\.0\.1:(800\d)( .*;)\n", re.MULTILINE)
UPSTREAM_LINES = re.compile(f"(?:{UPSTREAM_LINE.pattern})+", re.MULTILINE)


def nginx_in_front(folder: Path, worker_ports: list[int], stream_port: int) -> tuple[Nginx, int, int]:
    """deploy/'s nginx started in front of processes listening on `worker_ports` (their stream
    listener on `stream_port`): one upstream line per process, as the shipped file lists its
    two. Returns nginx, its HTTP port and its stream port."""
    path = DEPLOY / "nginx" / "plotserver.conf"
    shipped = UPSTREAM_LINE.findall(path.read_text())
    assert [port for _, port, _ in shipped] == ["8001", "8002"], f"{path.name} lists other processes: update this"
    indent, _, options = shipped[0]
    upstream = "".join(f"{indent}server 127.0.0.1:{port}{options}\n" for port in worker_ports)
    http_port, proxy_stream_port = free_port(), free_port()
    http_conf = render(path, {"listen 80;": f"listen 127.0.0.1:{http_port};"})
    http_conf = UPSTREAM_LINES.sub(lambda _: upstream, http_conf, count=1)
    stream_conf = render(
        DEPLOY / "nginx" / "plotserver-stream.conf",
        {
            "server 127.0.0.1:9080;": f"server 127.0.0.1:{stream_port};",
            "listen 8080;": f"listen 127.0.0.1:{proxy_stream_port};",
        },
    )
    nginx = Nginx(folder, http_conf, stream_conf)
    try:
        nginx.start(http_port)
    except BaseException:
        nginx.stop()
        raise
    return nginx, http_port, proxy_stream_port


@dataclass
class Deployment:
    """Processes sharing a database and Redis behind deploy/'s nginx."""

    env: dict[str, str]
    workers: list[LiveServer]
    nginx: Nginx
    http_port: int
    proxy_stream_port: int
    logs_from: list[int] = field(default_factory=list)

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def log(self, n: int) -> str:
        """What process `n` logged since this deployment started it."""
        return self.workers[n].log_text()[self.logs_from[n] :]


@contextlib.contextmanager
def deployed(
    database_env: dict[str, str], artifacts: Path, folder: Path, processes: int, name: str
) -> Iterator[Deployment]:
    """`processes` plotserver processes on the database of `database_env` and on Redis (REDIS_URL,
    else a redis-server of their own), their stream listeners sharing one port, behind deploy/'s
    nginx; all stopped afterwards (and any process the test put in `workers` meanwhile)."""
    redis_server = None
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        redis_server = OwnRedis(folder).start()
        redis_url = redis_server.url
    stream_port = free_port()
    env = {**database_env, "REDIS_URL": redis_url, "STREAM_PORT": str(stream_port), "STREAM_HOST": "127.0.0.1"}
    workers = [LiveServer(env, artifacts, name=f"{name}-{n}") for n in range(1, processes + 1)]
    logs_from = [worker.log_path.stat().st_size if worker.log_path.exists() else 0 for worker in workers]
    nginx = None
    try:
        with ThreadPoolExecutor(processes) as starting:
            list(starting.map(LiveServer.start, workers))
        nginx, http_port, proxy_stream_port = nginx_in_front(folder, [worker.port for worker in workers], stream_port)
        yield Deployment(env, workers, nginx, http_port, proxy_stream_port, logs_from)
    finally:
        if nginx is not None:
            nginx.stop()
        for worker in workers:
            worker.stop(timeout=30)
        if redis_server is not None:
            redis_server.stop()
