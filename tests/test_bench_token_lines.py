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
        # What the server did while they streamed, counted beside its CPU (bench.server_counts).
        assert run["counts"]["streams_ended"] == 3
        assert run["counts"]["commits"] >= 1
        assert run["counts"]["cpu_us"] > 0
    assert None not in figures["median_ratio"].values()
    assert token_lines.row(figures).scenario.startswith("(o) lines that name their token")


def test_the_interval_of_a_median_ratio_is_given_from_six_pairs_on_with_95_percent_confidence():
    assert token_lines.median_interval([1.0, 1.1, 0.9, 1.2, 0.8]) is None
    assert token_lines.median_interval([1.0, 1.1, 0.9, 1.2, 0.8, 1.3]) == (0.8, 1.3)
    # Fifteen pairs: the 4th smallest and the 4th largest (the binomial tails 1.8% each).
    assert token_lines.median_interval([float(v) for v in range(15, 0, -1)]) == (4.0, 12.0)
