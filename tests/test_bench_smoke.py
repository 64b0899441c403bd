"""Every benchmark scenario runs, in a few seconds, and accounts for every point.

These assert the accounting (each line sent was stored or rejected; each viewer got every
update it was due, or a resync) and never a timing: speed is measured by `make bench`.
"""

from __future__ import annotations

import pytest

from bench import history_reads, live, memory, restart, throughput
from bench.common import Environment


@pytest.fixture
def environment(integration_db):
    env = Environment(integration_db)
    yield env
    env.close()


def test_every_point_of_the_live_scenario_is_stored_and_reaches_every_viewer(environment):
    figures = live.run(environment, producers=2, rate=20, viewers=3, seconds=1).figures

    assert figures["sent"] > 0
    assert figures["producer_errors"] == []
    assert figures["sent"] == figures["stored"] + figures["rejected"]
    assert figures["viewers_connected"] == 3
    assert figures["viewers_incomplete"] == 0
    assert figures["viewers_short_without_resync"] == 0
    assert figures["delivered"] + figures["resyncs"] > 0
    assert figures["latency"]["samples"] > 0


def test_the_ingest_scenario_stores_every_line_it_sends_and_the_bare_app_parses_them(environment):
    [row] = throughput.rows(environment, producers=3, lines=10, points=200, workers=1, maxpoints=10000)
    plotserver, bare = row.figures["plotserver"], row.figures["bare"]

    assert plotserver["errors"] == [] and bare["errors"] == []
    assert plotserver["sent"] == 600 == plotserver["stored"] + plotserver["rejected"]
    assert plotserver["stored"] == plotserver["accepted"]
    assert bare["sent"] == 600 == bare["accepted"]
    assert plotserver["cpu_us_per_point"] is not None


def test_the_ingest_scenario_runs_with_two_workers(environment):
    figures = throughput.plotserver_ingest(environment, producers=4, lines=10, points=100, workers=2)

    assert figures["errors"] == []
    assert figures["sent"] == 400 == figures["stored"] + figures["rejected"]


def test_the_memory_scenario_holds_every_idle_connection_and_stores_each_stream_line(environment):
    figures = memory.run(environment, streams=6, viewers=4)

    assert (figures["streams_open"], figures["viewers_open"]) == (6, 4)
    assert figures["stream_errors"] == []
    assert figures["sent"] == 6 == figures["accepted"] + figures["rejected"]
    assert figures["kb_per_connection"] is not None


def test_the_restart_scenario_serves_the_stored_windows_after_a_restart(environment):
    figures = restart.run(environment, windows=10, points=5)

    assert figures["stream_errors"] == []
    assert figures["sent"] == 50 == figures["accepted"] + figures["rejected"]
    assert figures["empty"]["accepts_stream_s"] is not None
    assert figures["full"]["accepts_stream_s"] is not None
    assert figures["full"]["full_snapshot_s"] is not None


def test_the_history_scenario_reads_back_every_point_it_backfilled(environment):
    figures = history_reads.run(environment, points=500, reads=1)

    for kind in ("numbers", "dates"):
        assert figures[kind]["accepted"] == 500
        assert figures[kind]["week_lttb_2000"]["total"] == 500
        assert figures[kind]["ndjson_week"]["lines"] == 500
        assert figures[kind]["day_lttb_2000"]["total"] == 0  # the 500 seconds are all before that day
