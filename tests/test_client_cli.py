"""The plotserver-stream command: CSV and NDJSON input, its progress line, its refusals, its install."""

from __future__ import annotations

import os
import pty
import shutil
import signal
import socket
import subprocess
import sys

from harness.live_server import ROOT, wait_for
from tests.client_module import CLIENT_FILE, start_cli


def run_cli(*args: str, input: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(CLIENT_FILE), *args], input=input, capture_output=True, timeout=60, check=False
    )


def test_csv_with_a_header_row_streams_its_named_columns(server, producer, tmp_path):
    token = producer.make_token()
    plot = producer.make_plot([token])
    data = tmp_path / "sensor.csv"
    data.write_text("x,y\n1,20.5\n2,21\n\n3,\n")
    done = run_cli("--url", server.url, "--token", token, "--csv", str(data), input=b"")
    assert done.returncode == 0, done.stderr
    assert b"3 accepted, 0 rejected, 0 reconnects" in done.stderr
    figure = producer.figure(plot["id"])["data"][0]
    assert (figure["x"], figure["y"]) == ([1, 2, 3], [20.5, 21, None])


def test_columns_map_a_headerless_csv_from_standard_input(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token])
    lines = b"2026-11-28T10:00:00,ok,1.5\n2026-11-28T10:00:01,ok,2.5\n"
    done = run_cli("--url", server.url, "--token", token, "--csv", "--columns", "x,-,y", "-", input=lines)
    assert done.returncode == 0, done.stderr
    figure = producer.figure(plot["id"])["data"][0]
    assert figure["x"] == ["2026-11-28T10:00:00", "2026-11-28T10:00:01"]
    assert figure["y"] == [1.5, 2.5]


def test_ndjson_lines_go_as_they_are_and_rejected_lines_are_reported(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    done = run_cli("--url", server.url, "--token", token, input=b'{"x": 1, "y": 1}\nnot json\n{"x": 2, "y": 2}\n')
    assert done.returncode == 0, done.stderr
    assert b"2 accepted, 1 rejected" in done.stderr
    assert b"last rejected line: {'line': 2" in done.stderr


def test_an_unknown_token_exits_1_with_the_servers_reason(server):
    done = run_cli("--url", server.url, "--token", "no-such-token", input=b'{"x": 1}\n')
    assert done.returncode == 1
    assert b"plotserver-stream: 404 unknown or revoked stream token" in done.stderr


def test_missing_url_or_token_is_a_usage_error():
    done = subprocess.run(
        [sys.executable, str(CLIENT_FILE)],
        capture_output=True,
        timeout=30,
        env={k: v for k, v in os.environ.items() if not k.startswith("PLOTSERVER_")},
        check=False,
    )
    assert done.returncode == 2
    assert b"--url is required" in done.stderr


def test_on_a_terminal_it_shows_a_progress_line(server, producer):
    token = producer.make_token()
    producer.make_plot([token])
    controller, terminal = pty.openpty()
    cli = start_cli("--url", server.url, "--token", token, stderr=terminal)
    os.close(terminal)
    seen = b""

    def progress_shown() -> bool:
        nonlocal seen
        seen += os.read(controller, 4096)
        return b"1 sent (" in seen and b"0 reconnects" in seen

    try:
        cli.stdin.write(b'{"x": 1, "y": 1}\n')
        cli.stdin.flush()
        wait_for(progress_shown, timeout=20, message="a progress line on the terminal")
        cli.stdin.close()
        assert cli.wait(timeout=30) == 0
    finally:
        if cli.poll() is None:
            cli.kill()
        os.close(controller)


def test_pip_installs_the_client_as_the_plotserver_stream_command(tmp_path):
    # From a copy, without what an earlier setuptools build may have left in the checkout.
    source = tmp_path / "client"
    shutil.copytree(ROOT / "client", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            target,
            source,
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    assert (target / "plotserver_client.py").read_bytes() == CLIENT_FILE.read_bytes()
    command = target / "bin" / "plotserver-stream"
    version = subprocess.run(
        [sys.executable, command, "--version"],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert version.stdout.strip() == b"plotserver-stream 1.0.0"


def test_a_url_without_its_scheme_is_a_usage_error_that_shows_the_fix():
    done = run_cli("--url", "127.0.0.1:8000", "--token", "sometoken12", input=b"")
    assert done.returncode == 2
    assert b"--url is an http:// or https:// URL, such as http://127.0.0.1:8000" in done.stderr
    assert b"Traceback" not in done.stderr


def test_sigterm_stops_it_while_the_server_cannot_be_reached_and_says_what_was_not_delivered(tmp_path):
    with socket.socket() as unused:  # a port nothing listens on: every connection is refused
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    errors = tmp_path / "stderr"
    with errors.open("wb") as stderr:
        command = ["--url", f"http://127.0.0.1:{port}", "--token", "sometoken12", "--progress"]
        cli = subprocess.Popen(
            [sys.executable, str(CLIENT_FILE), *command],
            stdin=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        assert cli.stdin is not None
        cli.stdin.write(b'{"x": 1, "y": 1}\n{"x": 2, "y": 2}\n')
        cli.stdin.flush()
        # Its progress line: it runs, its signal handlers are in place, it is trying to connect
        # (it connects before it reads its input).
        wait_for(lambda: b" sent (" in errors.read_bytes(), timeout=30, message="the progress line")
        cli.send_signal(signal.SIGTERM)
        status = cli.wait(timeout=30)  # it once retried for ever, silent
    finally:
        cli.kill()
    assert status == 130
    message = errors.read_bytes()
    assert b"interrupted while http://127.0.0.1:" in message and b"lines not delivered" in message
