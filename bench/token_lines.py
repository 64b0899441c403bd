"""Lines that name their token beside the header form: server CPU per line, in pairs on one server.

    python -m bench.token_lines                  10 producers x 3,000 points, 10-line chunks, 5 pairs
    python -m bench.token_lines --pairs 3 --points 10000

Each pair streams the same points twice, on fresh tokens of the same server: once with the
`plotly-streamtoken` header (`{"x": 1, "y": 1}`), once without it, each line naming its token
(`{"x": 1, "y": 1, "streamtoken": "<32 characters>"}`, the form of Plotly's Arduino library, so
its lines are 51 bytes longer). The order alternates from pair to pair, so that the machine's
drift falls on both forms. CPU per point (the server's user + system time over points stored:
bench.throughput) is the figure to compare; the row gives each form's median and the median of
the pairs' ratios.
"""

from __future__ import annotations

import argparse
import statistics

from bench.common import Environment, Row, print_table, stop
from bench.lineproto_door import ndjson_ingest, rate


def run(env: Environment, *, pairs: int, producers: int, points: int, lines: int) -> dict:
    server = env.server("token-lines")
    runs: dict[str, list[dict]] = {"header": [], "named": []}
    try:
        for pair in range(pairs):
            order = (False, True) if pair % 2 == 0 else (True, False)
            for named in order:
                figures = ndjson_ingest(env, server, producers=producers, points=points, lines=lines, named=named)
                runs["named" if named else "header"].append(figures)
    finally:
        stopped = stop(server)
    cpu = {form: [r["cpu_us_per_point"] or 0.0 for r in each] for form, each in runs.items()}
    ratios = [n / h for h, n in zip(cpu["header"], cpu["named"], strict=True) if h]
    return {
        "pairs": pairs,
        "producers": producers,
        "points_per_producer": points,
        "lines_per_chunk": lines,
        "cpu_us_per_point": cpu,
        "median_cpu_us_per_point": {form: statistics.median(values) for form, values in cpu.items()},
        "median_ratio": statistics.median(ratios) if ratios else None,
        "ratios": ratios,
        "runs": runs,
        "server_stop": stopped,
    }


def middle(runs: list[dict]) -> dict:
    """The run whose CPU per point is the median of its form's."""
    return sorted(runs, key=lambda r: r["cpu_us_per_point"] or 0.0)[len(runs) // 2]


def row(figures: dict) -> Row:
    ratio = figures["median_ratio"]
    return Row(
        f"(o) lines that name their token, {figures['producers']} producers, {figures['lines_per_chunk']}-line chunks"
        f" ({figures['pairs']} pairs)",
        rate(middle(figures["runs"]["named"])),
        "the header form's CPU per line, within noise",
        f"plotly-streamtoken header: {rate(middle(figures['runs']['header']))}",
        "" if ratio is None else f"{ratio:.2f}x CPU/point (median of pairs)",
        figures,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.token_lines", description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="pairs of runs, the order alternating")
    parser.add_argument("--producers", type=int, default=10, help="streams at once in each run")
    parser.add_argument("--points", type=int, default=3000, help="points per stream")
    parser.add_argument("--lines", type=int, default=10, help="lines per chunk")
    args = parser.parse_args(argv)
    with Environment() as env:
        figures = run(env, pairs=args.pairs, producers=args.producers, points=args.points, lines=args.lines)
        print_table([row(figures)], f"plotserver: lines that name their token ({env.description})")
        print("CPU µs/point by pair:", figures["cpu_us_per_point"], "ratios:", figures["ratios"])


if __name__ == "__main__":
    main()
