"""`manage.py runserver` serves everything in development: pages, REST, viewer sockets, streams."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from urllib.parse import urlsplit

from websockets.sync.client import connect

from harness.live_server import ROOT, free_port, new_user, server_env, wait_for
from tests.client_module import plotserver_client as client


def page_loads(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_runserver_serves_pages_rest_sockets_and_streams_with_autoreload(integration_db, artifacts):
    port = free_port()
    log_path = artifacts / f"runserver-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", str(port)],
            cwd=ROOT,
            env=server_env(integration_db.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: page_loads(f"{url}/login/"), timeout=60, message=f"runserver (log: {log_path})")
        user = new_user(integration_db.env, url)
        token = user.make_token()
        plot = user.make_plot([token])
        with connect(f"ws://127.0.0.1:{port}/ws/plots/{plot['id']}/") as viewer:
            assert json.loads(viewer.recv(timeout=10))["type"] == "snapshot"
            with client.Stream(url, token) as stream:
                stream.write({"x": 1, "y": 10})
                stream.write({"x": 2, "y": 20})
            updates = json.loads(viewer.recv(timeout=10))
            assert updates["type"] == "updates"
        assert user.figure(plot["id"])["data"][0]["y"] == [10, 20]
        assert page_loads(f"{url}{urlsplit(plot['web_url']).path}")
        log = log_path.read_text()
        assert f"plotserver at http://127.0.0.1:{port}/ (uvicorn with httptools" in log
        assert "Started reloader process" in log
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
