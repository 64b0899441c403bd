"""The soak, short: two minutes of paced producers and viewers beside a viewer that never reads
and a producer that misbehaves. It asserts the accounting (every point a producer was told was
accepted is stored, once) and that memory and descriptors end flat, never a timing.

`python -m bench.soak` is the real one (30 minutes, 10,000 points/s, 100 viewers). This one
runs it as a user runs it, in a process of its own, at a tenth of that load, 1,000 points/s and
10 viewers: the suite's machine has 2 cores shared with the test process, its load processes
and PostgreSQL; what it checks, leaks and lost points, shows at any rate.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.live_server import ROOT, server_env

SECONDS = 120


@pytest.mark.timeout(SECONDS + 300)
@pytest.mark.long
def test_a_two_minute_soak_stores_every_acknowledged_point_once_and_ends_flat(tmp_path):
    results = tmp_path / "soak.json"
    arguments = ["--seconds", str(SECONDS), "--rate", "1000", "--producers", "10", "--viewers", "10", "--sample", "10"]
    run = subprocess.run(
        [sys.executable, "-m", "bench.soak", *arguments, "--json", str(results)],
        cwd=ROOT,
        env=server_env({}),
        capture_output=True,
        text=True,
        timeout=SECONDS + 280,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    figures = json.loads(results.read_text())

    assert figures["producer_errors"] == []
    assert figures["answers"] == 10
    assert figures["acknowledged"] == figures["sent"] > 0
    assert figures["lost_or_doubled"] == {}
    assert figures["windows_with_duplicates"] == 0
    assert figures["viewers_connected"] == 10
    assert figures["viewer_errors"] == []
    # The misbehaving producer got its answers (200 after a line past the length limit was
    # rejected alone, 400 for broken framing) and never took the server down.
    assert figures["misbehaviour"].get("200", 0) > 0 and figures["misbehaviour"].get("400", 0) > 0
    assert figures["memory_flat"], figures["series"]
    assert figures["fds_flat"], figures["series"]
    assert figures["server_stop"] == ""
