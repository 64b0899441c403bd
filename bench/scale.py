"""Row (p): viewers spread over several uvicorn processes (`--workers`), beside one process in the same run.

    python -m bench.scale                      (a)'s load, 1 producer at 20 writes/s and 1,000 viewers, 3 pairs
    python -m bench.scale --scenario b         (b)'s load, 100 producers x 100 points/s and 100 viewers
    python -m bench.scale --workers 3 --pairs 5 --seconds 20

Each pair runs the load against one worker and against `--workers` workers, which goes first
swapped every pair (the machine's speed drifts between runs minutes apart more than within a
pair); the pair whose several-worker p99 is the median is quoted. Each run reports every
process's CPU (the supervisor and each worker, user + system), deliveries a second (updates
received live by viewers / the span from the first write until every viewer held what it was
due), latency p50/p99, delivered of due, and what Redis and PostgreSQL spent (bench/services.py),
per point and per delivery. From Redis's CPU per PUBLISH it works out the rate at which one
Redis core is full.

Several processes share live updates through Redis: without REDIS_URL the row is skipped.
"""

from __future__ import annotations

import argparse
import os

from bench import live
from bench.common import Environment, Row, ms, print_table, raise_fd_limit, say

QUICK_SECONDS = 2


def per(total: float | None, count: int, scale: float = 1e6) -> float | None:
    """`total` seconds over `count` events, in µs (None when either is missing)."""
    return total / count * scale if total is not None and count else None


def derive(figures: dict) -> dict:
    """The sizing figures of one run: CPU by process, and Redis's and PostgreSQL's per point,
    per delivery and per PUBLISH; from that, what one Redis core carries."""
    stored, delivered = figures["stored"], figures["delivered"]
    redis, postgres = figures["redis"] or {}, figures["postgres"] or {}
    redis_cpu, publishes = redis.get("cpu_seconds"), redis.get("publishes", 0)
    publish_us, point_us, delivery_us = per(redis_cpu, publishes), per(redis_cpu, stored), per(redis_cpu, delivered)
    return {
        "workers_cpu_load": [p["cpu_load"] for p in figures["server_processes"] if p["role"] in ("server", "worker")],
        "supervisor_cpu_load": sum(p["cpu_load"] for p in figures["server_processes"] if p["role"] == "supervisor"),
        "server_cpu_us_per_delivery": per(sum(p["cpu_seconds"] for p in figures["server_processes"]), delivered),
        "redis_cpu_load": redis_cpu / figures["measured_seconds"] if redis_cpu is not None else None,
        "redis_us_per_point": point_us,
        "redis_us_per_delivery": delivery_us,
        "redis_us_per_publish": publish_us,
        "redis_publish_command_us": per(redis.get("publish_command_us", 0) / 1e6, publishes) if redis else None,
        "points_per_publish": stored / publishes if publishes else None,
        # One Redis core busy all the time, at this run's costs (its idle background included:
        # an upper bound of the cost, so a lower bound of the rate).
        "redis_core_publishes_per_second": 1e6 / publish_us if publish_us else None,
        "redis_core_points_per_second": 1e6 / point_us if point_us else None,
        "redis_core_deliveries_per_second": 1e6 / delivery_us if delivery_us else None,
        "postgres_us_per_point": per(postgres.get("cpu_seconds"), stored),
        "postgres_commits_per_second": postgres.get("commits", 0) / figures["measured_seconds"] if postgres else None,
    }


def run(env: Environment, *, scenario: str, workers: int, pairs: int, seconds: float, quick: bool) -> dict:
    """`pairs` pairs of one worker and `workers` workers under one of bench.live's loads."""
    producers, rate, viewers, _, _ = live.SCENARIOS[scenario]
    if quick:
        producers, viewers = max(1, producers // 10), max(1, viewers // 10)
    load = {"producers": producers, "rate": rate, "viewers": viewers, "seconds": seconds}
    runs = []
    for pair in range(pairs):
        order = (1, workers) if pair % 2 == 0 else (workers, 1)
        got = {}
        for count in order:
            say(f"bench.scale: pair {pair + 1} of {pairs}, {count} worker{'s' if count > 1 else ''}")
            got[count] = live.run(env, workers=count, **load)
            got[count].figures["load_average_after"] = os.getloadavg()  # other work on the same cores
            got[count].figures["derived"] = derive(got[count].figures)
        runs.append({"one": got[1].figures, "many": got[workers].figures, "first": order[0]})
    p99s = [r["many"]["latency"]["p99_ms"] or float("inf") for r in runs]
    chosen = sorted(range(pairs), key=p99s.__getitem__)[pairs // 2]
    return {"scenario": scenario, "workers": workers, **load, "pairs": runs, "median_pair": chosen}


def describe_run(figures: dict) -> str:
    derived, lat = figures["derived"], figures["latency"]
    cpu = " + ".join(f"{load:.0%}" for load in derived["workers_cpu_load"])
    supervisor = f" (supervisor {derived['supervisor_cpu_load']:.1%})" if figures["workers"] > 1 else ""
    redis = derived["redis_us_per_publish"]
    return (
        f"{figures['deliveries_per_second']:,.0f} deliveries/s, p50 {ms(lat['p50_ms'])}, p99 {ms(lat['p99_ms'])}; "
        f"{figures['delivered']:,} of {figures['due']:,}; CPU {cpu}{supervisor}"
        + (f"; Redis {derived['redis_cpu_load']:.1%}, {redis:.0f} µs/PUBLISH" if redis else "")
    )


def row(figures: dict) -> Row:
    pair = figures["pairs"][figures["median_pair"]]
    one, many = pair["one"], pair["many"]
    count = figures["workers"]
    load = live.describe(figures["producers"], figures["rate"], figures["viewers"])
    pairs = len(figures["pairs"])
    return Row(
        f"(p) {load}, {count} workers" + (f" (median of {pairs} pairs by p99)" if pairs > 1 else ""),
        describe_run(many),
        "reported beside 1 worker: per-process CPU, deliveries/s, latency",
        f"1 worker: {describe_run(one)}",
        f"{many['deliveries_per_second'] / one['deliveries_per_second']:.2f}x deliveries/s"
        if one["deliveries_per_second"]
        else "",
        figures,
    )


def rows(env: Environment, *, scenarios: tuple[str, ...], workers: int, pairs: int, seconds: float, quick: bool):
    """Row (p) for each load, or none without Redis (several processes need it to share updates)."""
    if not env.env.get("REDIS_URL"):
        say("bench: row (p) skipped: several processes share live updates through Redis; set REDIS_URL")
        return []
    seconds = QUICK_SECONDS if quick else seconds
    options = {"workers": workers, "pairs": pairs, "seconds": seconds, "quick": quick}
    return [row(run(env, scenario=scenario, **options)) for scenario in scenarios]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=sorted(live.SCENARIOS), default="a", help="bench.live's load")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10, help="streaming time of each run")
    parser.add_argument("--quick", action="store_true", help="a tenth of the load, 2 s, one pair")
    args = parser.parse_args(argv)
    raise_fd_limit()
    with Environment() as env:
        pairs = 1 if args.quick else args.pairs
        options = {"workers": args.workers, "pairs": pairs, "seconds": args.seconds, "quick": args.quick}
        print_table(rows(env, scenarios=(args.scenario,), **options), f"plotserver over processes ({env.description})")


if __name__ == "__main__":
    main()
