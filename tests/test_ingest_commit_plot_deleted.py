"""An ingest commit racing a plot's deletion (PostgreSQL, where the deletion holds the plot's row
until it commits): the commit waits for the plot's row lock, stores no annotation on the plot
that went, and stores the rest of its batch; never a foreign key refused at COMMIT. Run on
PostgreSQL whatever the suite runs on (tests/commit_race.py, in a process of its own)."""

from __future__ import annotations

import json

from harness.live_server import manage


def test_a_commit_racing_a_plots_deletion_stores_its_batch_without_the_plots_annotation(postgres_db):
    printed = manage("shell", "-c", "from tests.commit_race import race; race()", env=postgres_db.env, fresh=True)
    result = json.loads(printed.strip().splitlines()[-1])
    assert result["met"], result
    assert result["outcome"] == {"stored": True}
    assert result["annotated"] == [result["kept"]]
    assert result["chunk_stored"] is True
