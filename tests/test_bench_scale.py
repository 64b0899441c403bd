"""Row (p) of the benchmark, in its quick form: viewers spread over two uvicorn workers get every
update they are due, as on one, and the row reports each process's CPU and what Redis and the
database spent. Accounting only, never a timing."""

from __future__ import annotations

import os

from bench import scale
from bench.common import Environment

# Two processes share live updates through Redis: the row needs one, as tests/test_multiprocess.py does.
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def test_viewers_over_two_workers_get_every_update_and_each_process_is_measured(integration_db):
    with Environment(integration_db) as env:
        env.env["REDIS_URL"] = REDIS_URL
        figures = scale.run(env, scenario="a", workers=2, pairs=1, seconds=scale.QUICK_SECONDS, quick=True)
        row = scale.row(figures)
    (pair,) = figures["pairs"]
    for run, workers in ((pair["one"], 1), (pair["many"], 2)):
        assert run["workers"] == workers
        assert run["producer_errors"] == [] and run["viewer_errors"] == []
        assert run["sent"] == run["stored"] + run["rejected"] > 0
        assert run["viewers_connected"] == run["viewers"] == 100
        assert run["viewers_incomplete"] == 0 and run["viewers_short_without_resync"] == 0
        assert run["delivered"] > 0 and run["deliveries_per_second"] > 0
        roles = sorted(p["role"] for p in run["server_processes"] if p["role"] != "child")
        assert roles == (["server"] if workers == 1 else ["supervisor", "worker", "worker"])
        assert run["redis"]["publishes"] > 0
        assert len(run["derived"]["workers_cpu_load"]) == workers
    assert row.scenario.startswith("(p) 1 producer x 20 writes/s, 100 viewers, 2 workers")


def test_the_row_is_skipped_without_redis(integration_db):
    with Environment(integration_db) as env:
        env.env.pop("REDIS_URL", None)
        assert scale.rows(env, scenarios=("a",), workers=2, pairs=1, seconds=1, quick=True) == []
