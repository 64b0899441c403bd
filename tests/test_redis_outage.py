"""With Redis down, streams open, end, are taken over and revoked, viewers connect and REST
edits work, all from the database; nothing answers 500 and the log stays short. When Redis is
back, viewers that missed updates (a producer's end among them) are resynced, and live updates
flow again.

Redis is the test's own, on a free port, stopped and restarted by the test; the server is a
real uvicorn with REDIS_URL pointing at it.
"""

from __future__ import annotations

import json
import threading

import pytest
from websockets.sync.client import connect

from harness.live_server import new_user, wait_for
from harness.producer import RawStream
from tests.test_health_endpoints import OwnRedis


@pytest.fixture
def own_redis(tmp_path):
    # A redis-server of the test's own (OwnRedis skips without one, and fails under CI), whatever
    # the suite's configuration: the outage is of the Redis channel layer.
    redis_server = OwnRedis(tmp_path).start()
    yield redis_server
    redis_server.stop()


class Viewer:
    """A viewer socket whose messages a thread collects."""

    def __init__(self, server, plot_id: int) -> None:
        self.socket = connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot_id}/", open_timeout=10)
        self.messages: list[dict] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for text in self.socket:
                self.messages.append(json.loads(text))
        except Exception:
            pass

    def snapshots(self) -> list[dict]:
        return [m for m in self.messages if m["type"] == "snapshot"]

    def close(self) -> None:
        self.socket.close()


def test_a_redis_outage_costs_live_updates_only_and_viewers_are_repaired_after(start_server, own_redis):
    server = start_server(name="redis-outage", REDIS_URL=own_redis.url)
    user = new_user(server.env, server.url)
    ending, revoked, taken, fresh = (user.make_token(name) for name in ("ending", "revoked", "taken", "fresh"))
    plot = user.make_plot([ending, revoked, taken, fresh])
    early = Viewer(server, plot["id"])
    wait_for(lambda: early.snapshots(), message="the first snapshot")
    ending_stream = RawStream(server.port, ending).open()
    ending_stream.write({"x": 1, "y": 1})
    revoked_stream = RawStream(server.port, revoked).open()
    revoked_stream.write({"x": 1, "y": 1})
    old_taken = RawStream(server.port, taken).open()
    old_taken.write({"x": 1, "y": 1})
    # Counted by update, not by message: updates that arrive together come in one message.
    first_points = lambda: {u["stream"] for m in early.messages if m["type"] == "updates" for u in m["updates"]}  # noqa: E731
    wait_for(lambda: len(first_points()) == 3, message="the viewer sees the three streams' first points")

    own_redis.stop()

    # A clean end: its lines are stored, and the producer gets its counts.
    ending_stream.write({"x": 2, "y": 2})
    assert (ending_stream.end().status, user.stream_status(ending)["accepted"]) == (200, 2)
    # A new stream opens and ends.
    stream = RawStream(server.port, fresh).open()
    stream.write({"x": 1, "y": 1})
    answer = stream.end()
    assert (answer.status, answer.json["accepted"]) == (200, 1)
    # A revocation is answered, and its stream ends within a few seconds (database re-check).
    user.revoke(revoked)
    assert revoked_stream.answer(timeout=20).status == 410
    # A takeover: the new connection streams, the old one ends with 409 (lease re-check).
    new_taken = RawStream(server.port, taken).open()
    new_taken.write({"x": 2, "y": 2})
    assert old_taken.answer(timeout=20).status == 409
    assert new_taken.end().status == 200
    # REST edits and a new viewer work from the database.
    assert user.request("PATCH", f"/api/plots/{plot['id']}/", {"title": "edited in the outage"})[0] == 200
    late = Viewer(server, plot["id"])
    first = wait_for(lambda: late.snapshots(), message="a snapshot for a viewer that came during the outage")[0]
    assert first["figure"]["data"][0]["x"] == [1, 2]

    own_redis.start()

    # The viewer that was there all along missed the end of `ending` and the edit: resynced.
    def repaired() -> dict | None:
        for message in early.snapshots()[1:]:
            if message["plot"]["title"] == "edited in the outage":
                return message
        return None

    snapshot = wait_for(repaired, timeout=30, message="a fresh snapshot after Redis came back")
    assert snapshot["figure"]["data"][0]["x"] == [1, 2]
    assert not snapshot["streams"][str(user.stream_id(ending))]["connected"]
    # Live updates flow to both viewers again.
    count = len(late.messages)
    stream = RawStream(server.port, fresh).open()
    stream.write({"x": 2, "y": 2})
    wait_for(
        lambda: any(m["type"] == "updates" for m in late.messages[count:]),
        timeout=20,
        message="a live update for the viewer that came during the outage",
    )
    assert stream.end().status == 200
    for token in (ending, taken, fresh):
        assert not user.stream_status(token)["connected"]
    early.close()
    late.close()

    log = server.log_text()
    assert " 500 " not in log and "Internal Server Error" not in log
    # Repeated failures are one line per kind per interval, not one per message or second.
    failures = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line]
    assert len(failures) <= 20, failures
