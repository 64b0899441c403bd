"""Row (o) of the benchmark, in its quick form: both forms of a stream, the token in a header
and in every line, store every point they send. Accounting only, never a timing."""

from __future__ import annotations

from bench import token_lines
from bench.common import Environment


def test_the_token_lines_row_stores_every_point_of_both_forms(integration_db):
    with Environment(integration_db) as env:
        figures = token_lines.run(env, pairs=1, producers=3, points=200, lines=10)
    for form in ("header", "named"):
        (run,) = figures["runs"][form]
        assert run["errors"] == [], run["errors"]
        assert run["sent"] == run["accepted"] == run["stored"] == 600
    assert figures["runs"]["named"][0]["named"] is True
    assert figures["median_ratio"] is not None
    assert token_lines.row(figures).scenario.startswith("(o) lines that name their token")
