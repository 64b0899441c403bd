"""The deployment of deploy/, brought up for real: Debian's nginx with the stream module in front
of two uvicorn processes sharing the database and Redis.

Pages, REST and viewer sockets go through nginx's HTTP proxy; streams go through both doors
(the HTTP proxy to the main port, the TCP proxy to the stream listener). Then one process stops
while producers and viewers carry on through the other. Skipped only where nginx is missing
outside CI (.ci/run installs it).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from harness.live_server import ROOT, LiveServer, free_port, new_user, wait_for
from tests.client_module import plotserver_client as client
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


def viewer_socket(port: int, plot_id: int):
    """A viewer socket through the proxy, or None while the proxy has no process to offer (502)."""
    try:
        return connect(f"ws://127.0.0.1:{port}/ws/plots/{plot_id}/", open_timeout=10)
    except (InvalidStatus, OSError):
        return None


def next_updates(viewer, streams: set[int]) -> set[int]:
    """Read viewer messages until updates of every stream in `streams` came; return them."""
    seen: set[int] = set()
    while not streams <= seen:
        message = json.loads(viewer.recv(timeout=20))
        if message["type"] == "updates":
            seen |= {update["stream"] for update in message["updates"]}
    return seen


def test_nginx_in_front_of_two_processes_carries_everything_and_survives_one_stopping(
    integration_db, artifacts, tmp_path
):
    redis_server = None
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url:
        redis_server = OwnRedis(tmp_path).start()
        redis_url = redis_server.url
    http_port, proxy_stream_port, stream_port = free_port(), free_port(), free_port()
    env = {**integration_db.env, "REDIS_URL": redis_url, "STREAM_PORT": str(stream_port), "STREAM_HOST": "127.0.0.1"}
    workers = [LiveServer(env, artifacts, name=f"deployed-{n}") for n in (1, 2)]
    nginx = None
    try:
        for worker in workers:
            worker.start()
        nginx = Nginx(
            tmp_path,
            render(
                DEPLOY / "nginx" / "plotserver.conf",
                {
                    "server 127.0.0.1:8001 ": f"server 127.0.0.1:{workers[0].port} ",
                    "server 127.0.0.1:8002 ": f"server 127.0.0.1:{workers[1].port} ",
                    "listen 80;": f"listen 127.0.0.1:{http_port};",
                },
            ),
            render(
                DEPLOY / "nginx" / "plotserver-stream.conf",
                {
                    "server 127.0.0.1:9080;": f"server 127.0.0.1:{stream_port};",
                    "listen 8080;": f"listen 127.0.0.1:{proxy_stream_port};",
                },
            ),
        ).start(http_port)
        site = f"http://127.0.0.1:{http_port}"

        # Create, through the proxy.
        user = new_user(integration_db.env, site)
        main_door, listener_door = user.make_token("main port"), user.make_token("stream listener")
        plot = user.make_plot([main_door, listener_door], maxpoints=10000)
        assert plot["web_url"].startswith(site), "the proxy keeps the Host the visitor used"
        with urllib.request.urlopen(plot["web_url"], timeout=10) as page:
            assert page.status == 200

        # Stream through both doors; watch through the proxy.
        first = client.Stream(site, main_door, backoff=0.2, max_backoff=1)
        second = client.Stream(f"http://127.0.0.1:{proxy_stream_port}", listener_door, backoff=0.2, max_backoff=1)
        with connect(f"ws://127.0.0.1:{http_port}/ws/plots/{plot['id']}/") as viewer:
            snapshot = json.loads(viewer.recv(timeout=20))
            assert snapshot["type"] == "snapshot"
            streams = {trace["stream"] for trace in snapshot["traces"]}
            for i in range(200):
                first.write({"x": i, "y": i})
                second.write({"x": i, "y": -i})
            next_updates(viewer, streams)

        # One process stops; producers reconnect through the proxy to the other, viewers too.
        # Then it comes back and the other stops: whichever process a stream was on, it moved.
        written = 200
        for stopping in (0, 1):
            workers[stopping].stop(signal.SIGTERM)
            # nginx may still count the other process as failed (fail_timeout): a page retries.
            with wait_for(lambda: viewer_socket(http_port, plot["id"]), timeout=30) as viewer:
                assert json.loads(viewer.recv(timeout=20))["type"] == "snapshot"
                for i in range(written, written + 100):
                    first.write({"x": i, "y": i})
                    second.write({"x": i, "y": -i})
                written += 100
                next_updates(viewer, streams)
            if stopping == 0:
                again = LiveServer(env, artifacts, name="deployed-1-again")
                again.port = workers[0].port
                workers[0] = again.start()
        assert first.reconnects >= 1 and second.reconnects >= 1
        assert first.close()["accepted"] == written
        assert second.close()["accepted"] == written
        figure = user.figure(plot["id"])
        assert figure["data"][0]["x"] == list(range(written))
        assert figure["data"][1]["x"] == list(range(written))
    finally:
        if nginx is not None:
            nginx.stop()
        for worker in workers:
            worker.stop(timeout=30)
        if redis_server is not None:
            redis_server.stop()
