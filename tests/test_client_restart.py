"""plotserver-stream across a server restart: nothing lost, nothing sent twice.

The server is stopped with SIGTERM in the middle of a stream (it answers 503 with the counts of
what it read), and a new one starts on the same port and database while lines keep coming.
"""

from __future__ import annotations

import json
import signal
import threading

from harness.live_server import LiveServer, new_user, wait_for
from tests.client_module import start_cli

LINES = 3000


def test_the_cli_resends_exactly_what_the_stopped_server_did_not_read(start_server, integration_db, artifacts):
    first = start_server(name="client-before-restart")
    user = new_user(integration_db.env, first.url)
    token = user.make_token()
    plot = user.make_plot([token], maxpoints=10000)
    cli = start_cli("--url", first.url, "--token", token, "--max-backoff", "1", "--progress")

    def produce():
        # A steady producer: it keeps writing through the stop and the start.
        for i in range(LINES):
            cli.stdin.write(json.dumps({"x": i, "y": i % 7}).encode() + b"\n")
            cli.stdin.flush()
            if i % 10 == 0:
                threading.Event().wait(0.005)
        cli.stdin.close()

    writer = threading.Thread(target=produce)
    writer.start()
    second = None
    try:

        def some_points_stored() -> bool:
            if cli.poll() is not None:
                raise AssertionError(f"the CLI ended early ({cli.returncode}): {cli.stderr.read().decode()}")
            return len(user.figure(plot["id"])["data"][0].get("x", ())) >= 300

        # A generous deadline: the CLI's start-up alone takes seconds on a loaded 2-core machine.
        wait_for(some_points_stored, timeout=90, message="300 points stored through the CLI")
        first.stop(signal.SIGTERM)
        assert "Application shutdown complete" in first.log_text()
        second = LiveServer(first.env, artifacts, name="client-after-restart")
        second.port = first.port  # the producer keeps its URL
        second.start()
        writer.join(timeout=120)
        cli.wait(timeout=120)
        errors = cli.stderr.read().decode()
        assert cli.returncode == 0, errors
        summary = errors.strip().splitlines()[-1]
        assert summary.endswith(f"plotserver-stream: {LINES} accepted, 0 rejected, 1 reconnect")
        user.base_url = second.url
        assert user.figure(plot["id"])["data"][0]["x"] == list(range(LINES))
        assert user.stream_status(token)["last_seq"] == LINES
    finally:
        if cli.poll() is None:
            cli.kill()
        if second is not None:
            second.stop()
