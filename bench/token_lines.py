"""Lines that name their token beside the header form: server CPU per line, in pairs on one server.

    python -m bench.token_lines                  10 producers x 20,000 points, 10-line chunks, 9 pairs
    python -m bench.token_lines --pairs 21 --points 30000

Each pair streams the same points three times, on fresh tokens of the same server: with the
`plotly-streamtoken` header (`{"x": 1, "y": 1}`); with the header and each line padded to the
named line's length by an ignored `type` key (`{"x": 1, "y": 1, "type": "<39 dashes>"}`: what
the bytes alone cost); and without the header, each line naming its token
(`{"x": 1, "y": 1, "streamtoken": "<32 characters>"}`, the form of Plotly's Arduino library, 51
bytes longer than the first). The order is reversed from pair to pair, so that the machine's
drift falls on every form. CPU per point (the server's user + system time over points stored:
bench.throughput) is the figure to compare; the row gives each form's median and the median of
the pairs' ratios (named/header, padded/header, named/padded), each with the interval that holds
the ratio's true median with 95% confidence (from 6 pairs on: `median_interval`). A run is
200,000 points (about 4 s of the server's CPU), long enough that the 10 ms ticks of its CPU time
and the run's start and end weigh little. Beside the CPU time, each run counts what does not
move with the machine's load (bench.server_counts): user and kernel time apart, context
switches, commits, publishes, the times the readers were held back; the medians per form are
printed (times per point, counts per 1,000 points).
"""

from __future__ import annotations

import argparse
import math
import statistics

from bench.common import Environment, Row, print_table, stop
from bench.lineproto_door import ndjson_ingest, rate
from bench.load import HEADER, NAMED, PADDED

FORMS = (HEADER, PADDED, NAMED)
# The confidence of the interval given for each median ratio (`median_interval`).
CONFIDENCE = 0.95
# The default run: pairs, and points per producer (10 producers).
PAIRS = 9
POINTS = 20_000


def run(env: Environment, *, pairs: int, producers: int, points: int, lines: int) -> dict:
    compared = ((NAMED, HEADER), (PADDED, HEADER), (NAMED, PADDED))
    return paired(env, "token-lines", FORMS, compared, pairs=pairs, producers=producers, points=points, lines=lines)


def paired(
    env: Environment,
    name: str,
    forms: tuple[str, ...],
    compared: tuple[tuple[str, str], ...],
    *,
    pairs: int,
    producers: int,
    points: int,
    lines: int,
) -> dict:
    """Each form of line in turn on one server, `pairs` times, the order reversed each time; the
    CPU per point of each run and the ratios of the `compared` (form, base) in each pair."""
    server = env.server(name)
    runs: dict[str, list[dict]] = {form: [] for form in forms}
    try:
        for pair in range(pairs):
            for form in forms if pair % 2 == 0 else forms[::-1]:
                figures = ndjson_ingest(
                    env, server, producers=producers, points=points, lines=lines, form=form, counted=True
                )
                runs[form].append(figures)
    finally:
        stopped = stop(server)
    cpu = {form: [r["cpu_us_per_point"] or 0.0 for r in each] for form, each in runs.items()}
    ratios = {
        f"{form}/{base}": [a / b for a, b in zip(cpu[form], cpu[base], strict=True) if b] for form, base in compared
    }
    return {
        "pairs": pairs,
        "producers": producers,
        "points_per_producer": points,
        "lines_per_chunk": lines,
        "cpu_us_per_point": cpu,
        "median_cpu_us_per_point": {form: statistics.median(values) for form, values in cpu.items()},
        "median_counts": {form: per_point(each) for form, each in runs.items()},
        "median_ratio": {name: statistics.median(each) if each else None for name, each in ratios.items()},
        "median_ratio_interval": {name: median_interval(each) for name, each in ratios.items()},
        "ratios": ratios,
        "runs": runs,
        "server_stop": stopped,
    }


def median_interval(values: list[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """A distribution-free interval that holds the true median of `values`' population with at
    least `confidence`: the k-th smallest and k-th largest value, for the largest k whose
    binomial tail (the chance that fewer than k of n fall below the median) stays within
    (1 - confidence) / 2 on each side. None with too few values (under 6 at 95%)."""
    ordered, n = sorted(values), len(values)
    k = 0
    while k < n // 2 and 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n <= 1 - confidence:
        k += 1
    return (ordered[k - 1], ordered[n - k]) if k else None


def per_point(runs: list[dict]) -> dict[str, float]:
    """Each count's median over a form's runs: times (`_us`) in µs per point stored, the others
    per 1,000 points stored."""
    return {
        key: statistics.median((r["counts"][key] / r["stored"] if r["stored"] else 0.0) for r in runs)
        * (1 if key.endswith("_us") else 1000)
        for key in runs[0]["counts"]
    }


def middle(runs: list[dict]) -> dict:
    """The run whose CPU per point is the median of its form's."""
    return sorted(runs, key=lambda r: r["cpu_us_per_point"] or 0.0)[len(runs) // 2]


def row(figures: dict) -> Row:
    ratio = figures["median_ratio"][f"{NAMED}/{HEADER}"]
    interval = figures["median_ratio_interval"][f"{NAMED}/{HEADER}"]
    within = "" if interval is None else f", {CONFIDENCE:.0%}: {interval[0]:.2f}-{interval[1]:.2f}"
    return Row(
        f"(o) lines that name their token, {figures['producers']} producers, {figures['lines_per_chunk']}-line chunks"
        f" ({figures['pairs']} pairs)",
        rate(middle(figures["runs"][NAMED])),
        "the header form's CPU per line, within noise",
        f"plotly-streamtoken header: {rate(middle(figures['runs'][HEADER]))}",
        "" if ratio is None else f"{ratio:.2f}x CPU/point (median of pairs{within})",
        figures,
    )


def pair_options(module: str, description: str, argv: list[str] | None) -> dict:
    """The command line of a paired comparison of forms (`paired`'s keyword arguments)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description)
    parser.add_argument("--pairs", type=int, default=PAIRS, help="pairs of runs, the order alternating")
    parser.add_argument("--producers", type=int, default=10, help="streams at once in each run")
    parser.add_argument("--points", type=int, default=POINTS, help="points per stream")
    parser.add_argument("--lines", type=int, default=10, help="lines per chunk")
    return vars(parser.parse_args(argv))


def main(argv: list[str] | None = None) -> None:
    options = pair_options("bench.token_lines", __doc__.split("\n")[0], argv)
    with Environment() as env:
        figures = run(env, **options)
        print_table([row(figures)], f"plotserver: lines that name their token ({env.description})")
        for form, values in figures["cpu_us_per_point"].items():
            print(f"{form:>6} µs CPU/point by pair:", ", ".join(f"{v:.1f}" for v in values))
        for name, values in figures["ratios"].items():
            median, interval = figures["median_ratio"][name], figures["median_ratio_interval"][name]
            within = "" if interval is None else f", {CONFIDENCE:.0%} interval {interval[0]:.2f}-{interval[1]:.2f}"
            print(f"{name:>13} by pair:", ", ".join(f"{v:.2f}" for v in values), f"(median {median:.2f}x{within})")
        print("medians: CPU (schedstat) and its user and system parts in µs per point, the rest per 1,000 points")
        for form, counts in figures["median_counts"].items():
            print(f"{form:>6}", ", ".join(f"{key} {value:.4g}" for key, value in counts.items()))


if __name__ == "__main__":
    main()
