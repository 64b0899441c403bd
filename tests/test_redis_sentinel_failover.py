"""Two plotserver processes on PostgreSQL with Redis behind Sentinel (a master, its replica, three
sentinels) live through the master's death: the stream open on one process is not cut and all it
sends is stored, the viewer on the other process catches up with every point once Sentinel has
promoted the replica, the newest connection still wins and a revocation still ends a stream across
the two, and /metrics and /readyz show the outage and its end. A misspelled master name or a
wrong password stops a process's start. Real servers and sockets, configured as
docs/deployment.md ("Redis Sentinel") says."""

from __future__ import annotations

import json
import re

import pytest

from harness.live_server import fetch, new_user, wait_for
from harness.producer import RawStream
from tests.test_redis_outage import Viewer


def viewer_points(viewer: Viewer) -> list:
    """The x values of the viewer's first trace as its page would show them: its last snapshot,
    then the updates after it."""
    points: list = []
    for message in list(viewer.messages):
        if message["type"] == "snapshot":
            points = list(message["figure"]["data"][0]["x"])
        elif message["type"] == "updates":
            for update in message["updates"]:
                points += update["traces"].get("0", {}).get("extend", {}).get("x", [])
    return points


def metric(server, name: str) -> float:
    _, _, text = fetch(f"{server.url}/metrics")
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.mark.long
def test_a_master_killed_mid_stream_costs_no_point_and_the_processes_go_on_through_its_replica(
    postgres_db, sentinel_masters, start_server
):
    # Servers find their Redis through the sentinels only (REDIS_URL, if the suite sets one, is not theirs).
    env = {"DATABASE_URL": postgres_db.url, "REDIS_URL": "", "STREAM_TAKEOVER_TIMEOUT": "10", **sentinel_masters.env}
    a = start_server(name="sentinel-a", **env)
    b = start_server(name="sentinel-b", **env)
    user = new_user({"DATABASE_URL": postgres_db.url}, a.url)
    token, other_token = user.make_token("kept"), user.make_token("revoked")
    plot = user.make_plot([token, other_token])
    viewer, viewer_on_a = Viewer(b, plot["id"]), Viewer(a, plot["id"])
    wait_for(lambda: viewer.snapshots() and viewer_on_a.snapshots(), message="the viewers' first snapshots")
    stream = RawStream(a.port, token).open()
    sent = 0

    def send_one() -> None:
        nonlocal sent
        sent += 1
        stream.write({"x": sent, "y": sent})

    for _ in range(3):
        send_one()
    wait_for(lambda: viewer_points(viewer) == [1, 2, 3], message="live updates through the first master")

    old_master = sentinel_masters.master_port("plotserver")
    sentinel_masters.kill_master("plotserver")

    # The producer goes on streaming to A while there is no master, then a new one.
    def promoted() -> bool:
        send_one()
        return sentinel_masters.master_port("plotserver") != old_master

    wait_for(promoted, timeout=60, interval=0.25, message="Sentinel promoting the replica")
    for _ in range(3):
        send_one()
    # The viewers catch up with every point: those lost on the bus come in a fresh snapshot. (A's
    # viewer also tells that A's subscriptions are back, through which the takeover below goes.)
    for each in (viewer, viewer_on_a):
        wait_for(
            lambda each=each: viewer_points(each) == list(range(1, sent + 1)),
            timeout=30,
            message=f"a viewer holding all {sent} points",
        )
    assert not stream.has_answered(), "the stream was cut"
    wait_for(lambda: user.stream_status(token)["accepted"] == sent, message="every point sent stored")
    seen = len(viewer.messages)

    # Newest connection wins across the processes, handed over through the new master: numbering
    # goes on without the jump a holder that does not answer would cost.
    newest = RawStream(b.port, token).open()
    newest.write({"x": sent + 1, "y": sent + 1})
    assert stream.answer(timeout=20).status == 409
    assert newest.end().status == 200
    assert user.stream_status(token)["last_seq"] == sent + 1
    # Live updates flow again: the last point reaches B's viewer as an update.
    wait_for(
        lambda: any(m["type"] == "updates" for m in viewer.messages[seen:]),
        message="a live update after the failover",
    )
    # A revocation made on A ends the stream open on B.
    revoked = RawStream(b.port, other_token).open()
    revoked.write({"x": 1, "y": 1})
    wait_for(lambda: user.stream_status(other_token)["accepted"] == 1, message="the second stream's point stored")
    user.revoke(other_token)
    assert revoked.answer(timeout=20).status == 410

    # Nothing accepted was lost.
    assert user.figure(plot["id"])["data"][0]["x"] == list(range(1, sent + 2))
    wait_for(lambda: viewer_points(viewer) == list(range(1, sent + 2)), message="the viewer holding the last point")
    viewer.close()
    viewer_on_a.close()

    # What an operator sees: B's relay counted the outage and its end, A its failed publishes;
    # both are ready again, through the new master.
    assert metric(b, "plotserver_channel_layer_outages_total") >= 1
    assert metric(b, "plotserver_channel_layer_recoveries_total") >= 1
    assert metric(b, "plotserver_channel_layer_away") == 0
    assert metric(a, "plotserver_publish_failures_total") >= 1
    for server in (a, b):
        status, _, body = fetch(f"{server.url}/readyz")
        assert (status, json.loads(body)["checks"]["channel_layer"]) == (200, "ok")
    assert "the channel layer is back" in b.log_text()

    # Settings that name this Redis in a way that cannot be used stop a process's start.
    with pytest.raises(RuntimeError, match="the sentinels monitor no master named 'plotserver-typo'"):
        start_server(name="sentinel-typo", **{**env, "REDIS_SENTINEL_MASTER": "plotserver-typo"})
    with pytest.raises(RuntimeError, match="refuses the password given"):
        start_server(name="sentinel-password", **{**env, "REDIS_PASSWORD": "wrong"})
