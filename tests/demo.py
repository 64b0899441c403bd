"""The demo of `make run` as tests drive it: set it up, run its producer, see its points arrive."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from harness.live_server import ROOT, Api, manage, server_env, wait_for


def set_up_demo(env: dict[str, str], *args: str) -> tuple[str, int]:
    """Run `demo --setup` (with `args`, e.g. `--url`): what it printed, and the demo plot's id
    (its last line ends with the plot's address)."""
    printed = manage("demo", "--setup", *args, env=env)
    return printed, int(printed.strip().splitlines()[-1].rstrip("/").rsplit("/", 1)[1])


def start_demo_producer(url: str, env: dict[str, str], *extra: str, quiet: bool = False) -> subprocess.Popen:
    """`demo --produce` streaming every 0.05 s to the server at `url`; its output read as text
    (discarded when `quiet`)."""
    output = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--produce", "--url", url, "--interval", "0.05", *extra],
        cwd=ROOT,
        env=server_env(env),
        stdout=output,
        stderr=output,
        text=True,
    )


def wait_for_demo_points(url: str, plot_id: int, count: int) -> None:
    """Wait until every trace of the demo plot holds `count` points or more."""
    visitor = Api(url)
    wait_for(lambda: all(len(t["y"]) >= count for t in visitor.figure(plot_id)["data"]), timeout=30)


@contextmanager
def demo_producer_running(url: str, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A quiet demo producer for the length of the block, stopped after it."""
    producer = start_demo_producer(url, env, quiet=True)
    try:
        yield producer
    finally:
        producer.terminate()
        producer.wait(10)
