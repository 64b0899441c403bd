"""`make bench` runs, in its quick form, and every scenario accounts for every point.

The benchmark runs as a user runs it, `python -m bench --quick`, in a process of its own; these
read the results file it writes and assert the accounting (each line sent was stored or
rejected; each viewer got every update it was due, or a resync), never a timing: speed is what
`make bench` measures, on a quiet machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from harness.live_server import ROOT, server_env

# The rows of docs/performance.md's table that the quick run covers: (a) latency, (e) and (f)
# ingest with one and two workers, (g) memory, (h) restart, (i) history reads, (k) line protocol.
ROWS = "a,e,g,h,i,k"

# The quick run takes 1-3 minutes, longer on a loaded machine: a generous deadline for it, and
# the test's own timeout above it.
BENCH_DEADLINE = 840
pytestmark = pytest.mark.timeout(BENCH_DEADLINE + 60)


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, dict]:
    """The figures of each row of one quick run, by the row's letter."""
    results = tmp_path_factory.mktemp("bench") / "results.json"
    # A session of its own, so that a run cut short takes its servers with it (killing only
    # `python -m bench` would leave them serving); its deadline comes before the test's.
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench", "--quick", "--only", ROWS, "--json", str(results)],
        cwd=ROOT,
        env=server_env({}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = bench.communicate(timeout=BENCH_DEADLINE)
    finally:
        if bench.poll() is None:
            os.killpg(bench.pid, signal.SIGKILL)
            bench.wait()
    assert bench.returncode == 0, f"{stdout}\n{stderr}"
    scenarios = json.loads(results.read_text())["rows"]
    # The first of each letter: (e) comes twice, maxpoints 500 first.
    by_letter: dict[str, dict] = {}
    for row in scenarios:
        by_letter.setdefault(row["scenario"][1], row["figures"])
    return by_letter


def test_every_point_of_the_latency_scenario_is_stored_and_reaches_every_viewer(rows):
    figures = rows["a"]
    assert figures["sent"] > 0
    assert figures["producer_errors"] == [] and figures["viewer_errors"] == []
    assert figures["sent"] == figures["stored"] + figures["rejected"]
    assert figures["viewers_connected"] == figures["viewers"]
    assert figures["viewers_incomplete"] == 0
    assert figures["viewers_short_without_resync"] == 0
    assert figures["delivered"] + figures["resyncs"] > 0
    assert figures["latency"]["samples"] > 0


def test_the_ingest_scenario_stores_every_line_it_sends_and_the_bare_app_parses_them(rows):
    plotserver, bare = rows["e"]["plotserver"], rows["e"]["bare"]
    assert plotserver["errors"] == [] and bare["errors"] == []
    assert plotserver["sent"] > 0
    assert plotserver["sent"] == plotserver["stored"] + plotserver["rejected"]
    assert plotserver["stored"] == plotserver["accepted"]
    assert bare["sent"] == bare["accepted"] == plotserver["sent"]
    assert plotserver["cpu_us_per_point"] is not None


def test_the_ingest_scenario_runs_with_two_workers(rows):
    figures = rows["f"]["plotserver"]
    assert figures["workers"] == 2
    assert figures["errors"] == []
    assert figures["sent"] > 0
    assert figures["sent"] == figures["stored"] + figures["rejected"]


def test_the_memory_scenario_holds_every_idle_connection_and_stores_each_stream_line(rows):
    figures = rows["g"]
    assert (figures["streams_open"], figures["viewers_open"]) == (figures["streams"], figures["viewers"])
    assert figures["stream_errors"] == []
    assert figures["sent"] == figures["streams"] == figures["accepted"] + figures["rejected"]
    assert figures["kb_per_connection"] is not None


def test_the_restart_scenario_serves_the_stored_windows_after_a_restart(rows):
    figures = rows["h"]
    assert figures["stream_errors"] == []
    assert figures["sent"] == figures["windows"] * figures["points_per_window"]
    assert figures["sent"] == figures["accepted"] + figures["rejected"]
    assert figures["empty"]["accepts_stream_s"] is not None
    assert figures["full"]["accepts_stream_s"] is not None
    assert figures["full"]["full_snapshot_s"] is not None


def test_the_history_scenario_reads_back_every_point_it_backfilled(rows):
    figures = rows["i"]
    points = figures["points"]
    for kind in ("numbers", "dates"):
        assert figures[kind]["accepted"] == points
        assert figures[kind]["week_lttb_2000"]["total"] == points
        assert figures[kind]["ndjson_week"]["lines"] == points


def test_the_line_protocol_scenario_stores_every_point_beside_the_ndjson_door(rows):
    lineproto, ndjson = rows["k"]["lineproto"], rows["k"]["ndjson"]
    assert lineproto["errors"] == [] and ndjson["errors"] == []
    assert lineproto["sent"] > 0
    assert lineproto["sent"] == lineproto["stored"]
    assert ndjson["sent"] == ndjson["stored"] + ndjson["rejected"]
    assert lineproto["cpu_us_per_point"] is not None and ndjson["cpu_us_per_point"] is not None
