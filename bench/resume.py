"""The `plotserver-resume` header beside the plain header form: server CPU per line, in pairs on
one server.

    python -m bench.resume                  10 producers x 20,000 points, 10-line chunks, 9 pairs
    python -m bench.resume --pairs 3 --points 10000

Each pair streams the same points twice, on fresh tokens of the same server: with the
`plotly-streamtoken` header alone, and with a `plotserver-resume` header too (a stream of its
own from its first line, as plotserver's client sends: every line numbered, none skipped, the
mark stored with each commit). The order is reversed from pair to pair. CPU per point (the
server's user + system time over points stored: bench.throughput) is the figure to compare.
"""

from __future__ import annotations

from bench.common import Environment
from bench.lineproto_door import rate
from bench.load import HEADER, RESUMED
from bench.token_lines import middle, pair_options, paired


def main(argv: list[str] | None = None) -> None:
    options = pair_options("bench.resume", __doc__.split("\n")[0], argv)
    with Environment() as env:
        figures = paired(env, "resume", (HEADER, RESUMED), ((RESUMED, HEADER),), **options)
        ratio = figures["median_ratio"][f"{RESUMED}/{HEADER}"]
        print(f"plotserver: the resume header ({env.description})")
        for form in (HEADER, RESUMED):
            print(f"{form:>8}: {rate(middle(figures['runs'][form]))} (the median run)")
            print(f"{form:>8} µs CPU/point by pair:", ", ".join(f"{v:.1f}" for v in figures["cpu_us_per_point"][form]))
        print("resumed/header by pair:", ", ".join(f"{v:.2f}" for v in figures["ratios"][f"{RESUMED}/{HEADER}"]))
        print(f"median ratio: {ratio:.2f}x CPU/point" if ratio is not None else "no ratio")


if __name__ == "__main__":
    main()
