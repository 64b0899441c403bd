"""Row (o) of the benchmark, in its quick form: the three forms of a stream (the token in a
header, the same padded to the named line's length, the token in every line) store every point
they send. Accounting only, never a timing."""

from __future__ import annotations

from bench import token_lines
from bench.common import Environment


def test_the_token_lines_row_stores_every_point_of_every_form(integration_db):
    with Environment(integration_db) as env:
        figures = token_lines.run(env, pairs=1, producers=3, points=200, lines=10)
    for form in ("header", "padded", "named"):
        (run,) = figures["runs"][form]
        assert run["errors"] == [], run["errors"]
        assert run["sent"] == run["accepted"] == run["stored"] == 600
        assert run["form"] == form
    assert None not in figures["median_ratio"].values()
    assert token_lines.row(figures).scenario.startswith("(o) lines that name their token")
