"""The demo producer of `make run` starts before the server listens and stops when it is told:
it waits for the server without a word (no "Connection refused; reconnecting"), gives up with
one clear message when no server ever comes, and ends on SIGTERM or Ctrl-C with exit code 0 and
nothing else printed (no traceback, no "Broken pipe"), also after the server went first."""

from __future__ import annotations

import signal
import subprocess

import pytest

from harness.live_server import IntegrationDatabase, LiveServer, free_port, manage, wait_for
from tests.demo import set_up_demo, start_demo_producer, wait_for_demo_points


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """A database of the module's own with the demo set up (the demo user is one per database)."""
    database = IntegrationDatabase(tmp_path_factory.mktemp("demo"))
    manage("demo", "--setup", env=database.env)
    yield database
    database.drop()


def stop(producer: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str]:
    """Signal the producer; its exit code and everything it printed (stdout and stderr: both
    reach the terminal of `make run`) but its one line saying where it streams."""
    producer.send_signal(sig)
    stdout, stderr = producer.communicate(timeout=60)  # a deadline: ending, it waits for the server's last answer
    said = [line for line in stdout.splitlines() if not line.startswith("demo producer streaming to ")]
    return producer.returncode, "\n".join(said) + stderr


def streaming(producer: subprocess.Popen) -> None:
    """Wait for the producer's line saying it streams (read off its stdout)."""
    assert producer.stdout is not None
    wait_for(lambda: "streaming to" in producer.stdout.readline(), timeout=30)


def test_it_waits_quietly_for_a_server_that_listens_later_then_streams(demo_db, artifacts):
    plot_id = set_up_demo(demo_db.env)[1]
    server = LiveServer(demo_db.env, artifacts, name="demo-later")
    producer = start_demo_producer(server.url, demo_db.env)
    try:
        wait_for(lambda: producer.poll() is None, timeout=2)  # started, and still waiting
        server.start()  # a uvicorn start-up later: the producer tried and was refused meanwhile
        wait_for_demo_points(server.url, plot_id, 5)
        code, printed = stop(producer)
    finally:
        if producer.poll() is None:
            producer.kill()
        server.stop()
    assert code == 0
    assert printed.strip() == "", printed


def test_it_stops_quietly_after_the_server_went_first(demo_db, artifacts):
    plot_id = set_up_demo(demo_db.env)[1]
    server = LiveServer(demo_db.env, artifacts, name="demo-first").start()
    producer = start_demo_producer(server.url, demo_db.env)
    try:
        streaming(producer)
        wait_for_demo_points(server.url, plot_id, 3)
        server.stop()  # what Ctrl-C does to `make run`: uvicorn ends first, the producer is left
        code, printed = stop(producer)
    finally:
        if producer.poll() is None:
            producer.kill()
    assert code == 0
    assert printed.strip() == "", printed


def test_ctrl_c_ends_it_quietly_too(demo_db, artifacts):
    server = LiveServer(demo_db.env, artifacts, name="demo-ctrl-c").start()
    producer = start_demo_producer(server.url, demo_db.env)
    try:
        streaming(producer)
        code, printed = stop(producer, signal.SIGINT)
    finally:
        if producer.poll() is None:
            producer.kill()
        server.stop()
    assert code == 0
    assert printed.strip() == "", printed


def test_it_gives_up_with_a_clear_message_when_no_server_ever_listens(demo_db):
    url = f"http://127.0.0.1:{free_port()}"
    producer = start_demo_producer(url, demo_db.env, "--wait", "1")
    _, stderr = producer.communicate(timeout=30)
    assert producer.returncode == 1
    assert f"no server listening at {url} after 1 s" in stderr
    assert "Traceback" not in stderr and "Connection refused" not in stderr
