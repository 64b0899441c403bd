"""MQTT beside NDJSON: points a second and server CPU per point through each door, same server, same run.

    python -m bench.mqtt_door                        10 publishers x 3,000 points
    python -m bench.mqtt_door --publishers 4 --points 20000

A real mosquitto broker (Debian's `mosquitto`) on a free port; the server subscribes to it
(MQTT_URL). The NDJSON door: each producer streams its points to a token of its own in 10-line
chunks (as rows (e) and (k) do). The MQTT door: each publisher (a paho client of its own) publishes
its points at QoS 1 to the topic of a token of its own, one message a point, `{"x": i, "y": v}`,
as fast as the broker takes them. Each token's first message (which opens its stream, once) is not
measured. Points a second = points stored (the tokens' `accepted`) / time from the first publish to
the last point stored; CPU per point = user + system time of the server's processes over that
span / points stored (the broker's own CPU is not counted: it is not the server's). The broker
keeps every message for the server however far behind it falls (`max_queued_messages 0`).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.common import Environment, Meter, Row, print_table, ratio, say, stop
from bench.lineproto_door import ndjson_ingest, rate
from harness.live_server import Api, wait_for
from harness.mosquitto import MOSQUITTO, MOSQUITTO_PASSWD, Mosquitto


def publish_all(broker: Mosquitto, topic: str, points: int) -> float:
    """One publisher's points at QoS 1, every message acknowledged by the broker; when it finished."""
    client = broker.client(inflight=1000)
    try:
        last = None
        for i in range(points):
            last = client.publish(topic, b'{"x":%d,"y":%s}' % (i, str(i * 0.5).encode()), qos=1)
        if last is not None:
            last.wait_for_publish(300)
    finally:
        client.disconnect()
        client.loop_stop()
    return time.time()


def accepted(user: Api, tokens: list[str]) -> int:
    wanted, total, path = set(tokens), 0, "/api/streams/"
    while path:
        page = user.ok("GET", path)
        total += sum(stream["accepted"] for stream in page["results"] if stream["token"] in wanted)
        path = page["next"] and page["next"].removeprefix(user.base_url)
    return total


def mqtt_ingest(env: Environment, server, broker: Mosquitto, *, publishers: int, points: int) -> dict:
    user = env.user(server)
    base = uuid.uuid4().hex[:8]
    topics, tokens = [], []
    for n in range(publishers):
        stream = user.make_stream(f"mqtt bench {n}")
        topics.append(f"plotserver/{user.username}/bench/{base}/{n}")
        user.ok("PATCH", f"/api/streams/{stream['id']}/", {"mqtt_topic": topics[-1]})
        user.make_plot([stream["token"]])
        tokens.append(stream["token"])
    # Not measured: one message a token until each is subscribed and its stream open.
    for topic, token in zip(topics, tokens, strict=True):

        def opened(topic: str = topic, token: str = token) -> int:
            broker.publish(topic, '{"x": -1, "y": 0}')
            return user.stream_status(token)["accepted"]

        wait_for(opened, timeout=60, interval=0.5, message=f"{topic} subscribed")
    before = accepted(user, tokens)
    meter = Meter(server.process.pid).start()
    started = time.time()
    with ThreadPoolExecutor(publishers) as pool:
        finished = max(pool.map(lambda n: publish_all(broker, topics[n], points), range(publishers)))
    total = publishers * points
    wait_for(lambda: accepted(user, tokens) - before >= total, timeout=300, interval=0.2, message="all points stored")
    stored_at = time.time()
    meter.stop(wall=stored_at - started)
    stored = accepted(user, tokens) - before
    return {
        "sent": total,
        "stored": stored,
        "seconds": meter.wall,
        "published_seconds": finished - started,
        "points_per_second": stored / meter.wall if meter.wall else 0.0,
        "server_cpu_seconds": meter.cpu,
        "server_cpu_load": meter.load,
        "cpu_us_per_point": meter.cpu / stored * 1e6 if stored else None,
        "publishers": publishers,
    }


def rows(env: Environment, *, publishers: int, points: int) -> list[Row]:
    """The MQTT door beside the NDJSON door, on one server; no row without mosquitto."""
    if MOSQUITTO is None or MOSQUITTO_PASSWD is None:
        say("bench: row (n) needs mosquitto (Debian's mosquitto): skipped")
        return []
    # The publishers outrun the subscriber: past mosquitto's default bound (1,000 messages queued
    # for a subscriber) the broker would drop what it cannot deliver yet.
    broker = Mosquitto(Path(tempfile.mkdtemp(prefix="plotserver-bench-mqtt-")), queued=0).start()
    server = env.server("mqtt", MQTT_URL=broker.url(), MQTT_RELOAD_EVERY="0.5")
    try:
        ndjson = ndjson_ingest(env, server, producers=publishers, points=points, lines=10)
        mqtt = mqtt_ingest(env, server, broker, publishers=publishers, points=points)
    finally:
        stopped = stop(server)
        broker.stop()
    mqtt["server_stop"] = stopped
    return [
        Row(
            f"(n) MQTT, {publishers} publishers at QoS 1, one point a message",
            rate(mqtt),
            "reported beside the NDJSON door (same core, same server)",
            f"NDJSON door, {publishers} producers, 10-line chunks: {rate(ndjson)}",
            ratio(mqtt["cpu_us_per_point"], ndjson["cpu_us_per_point"], "CPU/point"),
            {"mqtt": mqtt, "ndjson": ndjson},
        )
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.mqtt_door", description=__doc__.split("\n")[0])
    parser.add_argument("--publishers", type=int, default=10, help="publishers, and NDJSON producers")
    parser.add_argument("--points", type=int, default=3000, help="points per publisher")
    parser.add_argument("--quick", action="store_true", help="a tenth of the points")
    args = parser.parse_args(argv)
    points = args.points // 10 if args.quick else args.points
    with Environment() as env:
        table = rows(env, publishers=args.publishers, points=points)
        print_table(table, f"plotserver ingest doors ({env.description})")


if __name__ == "__main__":
    main()
