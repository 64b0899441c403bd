"""Two plotserver processes on PostgreSQL with the channel layer sharded over two Redis servers
(`REDIS_URL=first,second`, docs/deployment.md "Several Redis hosts"): plots whose groups live on
either shard reach viewers on the other process, the newest connection wins and a revocation ends
a stream across the two, also after one shard was away (and viewers get what was lost with it);
a process that lists the shards in another order refuses to start, saying why. Real servers and
sockets."""

from __future__ import annotations

import json

import pytest
from channels_redis.utils import _consistent_hash

from harness.live_server import Api, fetch, new_user, wait_for
from harness.producer import RawStream
from tests.test_redis_outage import Viewer
from tests.test_redis_sentinel_failover import metric, viewer_points

PREFIX = "plotserver-shards"


def shard_of_plot(plot_id: int) -> int:
    """Which of the two shards carries the plot's group (channels_redis's hash of its name)."""
    return _consistent_hash(f"{PREFIX}__group__plot-{plot_id}", 2)


def test_two_shards_carry_fan_out_takeover_and_revocation_and_a_process_listing_them_otherwise_stops(
    postgres_db, two_shards, start_server
):
    first, second = two_shards
    env = {"DATABASE_URL": postgres_db.url, "REDIS_PREFIX": PREFIX, "STREAM_TAKEOVER_TIMEOUT": "10"}
    a = start_server(name="shards-a", REDIS_URL=f"{first.url},{second.url}", **env)
    b = start_server(name="shards-b", REDIS_URL=f"{first.url},{second.url}", **env)
    user = new_user({"DATABASE_URL": postgres_db.url}, a.url)

    # A plot whose group is on each shard (plot ids are the database's: made until both are covered).
    plots: dict[int, tuple[str, dict]] = {}
    while len(plots) < 2:
        token = user.make_token()
        plot = user.make_plot([token])
        plots.setdefault(shard_of_plot(plot["id"]), (token, plot))
    streams: list[tuple[str, RawStream]] = []
    viewers: dict[int, Viewer] = {}
    for shard_index, (token, plot) in sorted(plots.items()):
        viewer = Viewer(b, plot["id"])
        wait_for(viewer.snapshots, message="a viewer's first snapshot")
        stream = RawStream(a.port, token).open()
        stream.write({"x": 1, "y": 1})
        wait_for(lambda viewer=viewer: viewer_points(viewer) == [1], message="a live update through its shard")
        viewers[shard_index] = viewer
        streams.append((token, stream))
    for shard in two_shards:
        groups = shard.client().pubsub_channels(f"{PREFIX}__group__plot-*")
        assert len(groups) == 1, f"each shard carries one of the plots' groups, not {groups}"

    # The second shard alone dies and comes back: an edit made meanwhile, whose message was lost
    # with it, reaches the viewer of the plot whose group it carries (every relay probes each shard).
    second.kill()
    _, plot = plots[1]
    assert user.request("PATCH", f"/api/plots/{plot['id']}/", {"title": "edited"})[0] == 200
    wait_for(lambda: metric(b, "plotserver_channel_layer_away") == 1, message="B finding a shard away")
    second.start()
    wait_for(
        lambda: any(m["plot"]["title"] == "edited" for m in viewers[1].snapshots()),
        timeout=30,
        message="a fresh snapshot once the shard is back",
    )
    assert metric(b, "plotserver_channel_layer_recoveries_total") >= 1
    for viewer in viewers.values():
        viewer.close()

    # The newest connection wins across the processes, handed over through the shards (no jump).
    token, oldest = streams[0]
    newest = RawStream(b.port, token).open()
    newest.write({"x": 2, "y": 2})
    assert oldest.answer(timeout=20).status == 409
    assert newest.end().status == 200
    assert user.stream_status(token)["last_seq"] == 2
    # A revocation made through B ends the stream open on A.
    token, revoked = streams[1]
    user_on_b = Api(b.url, user.username, user.key)
    user_on_b.revoke(token)
    assert revoked.answer(timeout=20).status == 410

    status, _, body = fetch(f"{a.url}/readyz")
    assert (status, json.loads(body)["checks"]["channel_layer"]) == (200, "ok")

    # A process that lists the shards the other way round would put channels where the others
    # do not look: it does not start.
    with pytest.raises(RuntimeError, match="same Redis hosts in the same order"):
        start_server(name="shards-reversed", REDIS_URL=f"{second.url},{first.url}", **env)
