"""/healthz says the process is up; /readyz says whether the database and channel layer answer.

The Redis case runs a redis-server of the test's own on a free port, and stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.error
import urllib.request

import pytest

from harness.live_server import free_port, wait_for


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_healthz_answers_ok_without_asking_anything(anonymous):
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_200_when_the_database_and_channel_layer_answer(anonymous):
    response = anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "channel_layer": "ok"}}


class OwnRedis:
    """A redis-server of the test's own, so that stopping it disturbs nobody else."""

    def __init__(self, tmp_path) -> None:
        executable = shutil.which("redis-server")
        if executable is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is missing, and CI must run every test")
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.command = [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                        "--dir", str(tmp_path)]  # fmt: skip
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, timeout=20, message="redis-server to start")
        return self

    def _answers(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_timeout=1).ping()
        except redis.RedisError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


@pytest.fixture
def own_redis(tmp_path):
    redis_server = OwnRedis(tmp_path).start()
    yield redis_server
    redis_server.stop()


def test_readyz_says_503_and_which_check_failed_while_redis_is_down(start_server, own_redis):
    server = start_server(name="readyz", REDIS_URL=own_redis.url)
    assert get_json(f"{server.url}/readyz") == (
        200,
        {"status": "ready", "checks": {"database": "ok", "channel_layer": "ok"}},
    )

    own_redis.stop()
    status, body = get_json(f"{server.url}/readyz")
    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["channel_layer"] != "ok"
    assert get_json(f"{server.url}/healthz") == (200, {"status": "ok"})

    own_redis.start()
    wait_for(lambda: get_json(f"{server.url}/readyz")[0] == 200, timeout=20, message="ready again")


def test_readyz_answers_503_in_time_when_redis_hangs(start_server, own_redis):
    server = start_server(name="readyz-hang", REDIS_URL=own_redis.url, READYZ_TIMEOUT="0.5")
    own_redis.process.send_signal(signal.SIGSTOP)  # up, but answering nothing
    try:
        status, body = get_json(f"{server.url}/readyz")
    finally:
        own_redis.process.send_signal(signal.SIGCONT)
    assert status == 503
    assert body["checks"] == {"database": "ok", "channel_layer": "no answer within 0.5 s"}
