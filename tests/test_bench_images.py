"""Row (l) of the benchmark, in its quick form: every image asked for comes back a PNG, the
10,000-point plot's and the 10-point baseline's. Accounting only, never a timing."""

from __future__ import annotations

from bench import images
from bench.common import Environment


def test_the_image_row_runs_and_every_answer_is_a_png(integration_db):
    with Environment(integration_db) as env:
        figures = images.run(env, images=4, clients=2)
    for kind in ("points", "baseline_10_points"):
        assert figures[kind]["ok"] == figures[kind]["images"] == 4, figures[kind]
        assert figures[kind]["statuses"] == [200]
    assert figures["stop"] == ""
    assert images.row(figures).measured.endswith("4/4 PNG)")
