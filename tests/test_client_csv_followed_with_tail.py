"""The README's CSV command, as written: a file followed with `tail -n +1 -f` keeps its header,
so every row arrives, the old ones and the new; a first row that is data (the header lost, as
plain `tail -f` loses it) stops the command at once and says what to do."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys

from harness.live_server import ROOT, wait_for
from tests.client_module import CLIENT_FILE


def readme_csv_command() -> str:
    """The README's `tail ... | plotserver-stream ... --csv` line."""
    return next(
        line for line in (ROOT / "README.md").read_text().splitlines() if re.match(r"tail .*\| plotserver-stream", line)
    )


def command_shell(tmp_path, token: str) -> dict[str, str]:
    """A shell's environment with `plotserver-stream` on its PATH (as `pip install ./client`
    puts it) and $TOKEN set, as the README has it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    command = bin_dir / "plotserver-stream"
    command.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(CLIENT_FILE))} "$@"\n')
    command.chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TOKEN": token}


def run_in_shell(command: str, tmp_path, token: str) -> subprocess.CompletedProcess:
    """Run a shell command line in `tmp_path` (the sensor file's folder) as a user would, to its end."""
    return subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=command_shell(tmp_path, token), capture_output=True, timeout=60
    )


def test_the_readmes_tail_command_streams_every_row_and_follows_new_ones(server, producer, tmp_path):
    token = producer.make_token()
    plot = producer.make_plot([token])
    sensor = tmp_path / "sensor.csv"
    sensor.write_text("x,y\n" + "".join(f"{i},{i * 1.5}\n" for i in range(12)))  # more than tail's 10
    command = readme_csv_command().replace("http://127.0.0.1:8000", server.url)
    assert "tail -n +1 -f sensor.csv" in command
    shell = subprocess.Popen(
        ["bash", "-c", command],
        cwd=tmp_path,
        env=command_shell(tmp_path, token),
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        xs = lambda: producer.figure(plot["id"])["data"][0]["x"]  # noqa: E731
        wait_for(lambda: xs() == list(range(12)), timeout=30, message="every row of the file, the header kept")
        with sensor.open("a") as more:
            more.write("12,18\n")
        wait_for(lambda: xs() == list(range(13)), timeout=30, message="a row appended later")
    finally:
        os.killpg(shell.pid, signal.SIGTERM)
        shell.wait(timeout=30)
    assert producer.stream_status(token)["rejected"] == 0


def test_a_first_row_of_data_stops_the_command_and_names_the_fix(server, producer, tmp_path):
    token = producer.make_token()
    producer.make_plot([token])
    sensor = tmp_path / "sensor.csv"
    sensor.write_text("x,y\n" + "".join(f"{i},{i * 1.5}\n" for i in range(12)))
    # What the README once wrote: tail -f starts at the last 10 lines, without the header.
    done = run_in_shell(f"tail sensor.csv | plotserver-stream --url {server.url} --token $TOKEN --csv", tmp_path, token)
    assert done.returncode == 2
    assert b"'2,3.0' names none ('2')" in done.stderr
    assert b"--columns x,y" in done.stderr and b"tail -n +1 -f" in done.stderr
    assert producer.stream_status(token)["rejected"] == 0


def test_columns_name_a_headerless_csv_followed_from_its_end(server, producer, tmp_path):
    token = producer.make_token()
    plot = producer.make_plot([token])
    sensor = tmp_path / "sensor.csv"
    sensor.write_text("".join(f"{i},{i * 1.5}\n" for i in range(12)))
    command = f"tail sensor.csv | plotserver-stream --url {server.url} --token $TOKEN --csv --columns x,y"
    done = run_in_shell(command, tmp_path, token)
    assert done.returncode == 0, done.stderr
    assert producer.figure(plot["id"])["data"][0]["x"] == list(range(2, 12))
