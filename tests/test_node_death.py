"""A node dies: three plotserver processes on PostgreSQL and Redis behind deploy/'s nginx, one
killed with SIGKILL while producers stream through nginx and viewers watch through it.

The producers are the client's `Stream` (what `plotserver-stream` runs), three through nginx's
HTTP proxy to the main port and one through its TCP proxy to the stream listener. Those the dead
process held get no answer: they reconnect through nginx to another process and send again
every line no answer acknowledged; the new holder takes the token over once the dead one does
not answer (STREAM_TAKEOVER_TIMEOUT) and skips the lines the dead one had stored (the
`plotserver-resume` header). Viewers whose socket was on the dead process reconnect with
`since` and catch up. Every line is stored exactly once, and every viewer ends with every point.
Then, on the two processes left, the newest connection to a token still takes it over from an
older one on the other process, and revoking a token still stops its producer; neither loses a
line it acknowledged. The test prints how long producers and viewers took to come back, and the
revocation (docs/deployment.md, "A node's death").
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from harness.live_server import Api, new_user, wait_for
from tests.client_module import plotserver_client as client
from tests.deployment import Deployment, deployed

PRODUCERS = 4  # the last one through the stream listener
# Lines each producer writes after its stream came back, before it ends: the test's length.
LINES_AFTER = 150
# The largest window: more than a producer writes at its pace (200 lines a second) in the
# seconds the test lasts, so the window holds every line.
MAXPOINTS = 10_000
VIEWERS_AT_MOST = 12  # opened until every process has one
# Connections opened one after another on one token until one takes it over from a connection on
# the other surviving process (nginx takes turns, but other requests come between).
TAKEOVER_ATTEMPTS = 8
LINES_A_CONNECTION = 20
# Seconds the revoked producer may take to be told: a wide bound on a loaded machine, where the
# documented second (or the few seconds of the database re-check) may stretch.
REVOCATION_DEADLINE = 30


class Viewer(threading.Thread):
    """A viewer socket through nginx that behaves as plotserver's page does: it applies updates
    by sequence number, asks for a resync on a gap, and when its socket closes reconnects with
    `since` (retrying while nginx has no process to offer). `returns` holds, for each lost
    socket, the seconds until the first message of the next one."""

    def __init__(self, http_port: int, plot_id: int) -> None:
        super().__init__(daemon=True)
        self.url = f"ws://127.0.0.1:{http_port}/ws/plots/{plot_id}/"
        self.lock = threading.Lock()
        self.xs: list[list] = []
        self.seqs: dict[str, int] = {}
        self.revision = 0
        self.returns: list[float] = []
        self.sockets = 0
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        lost_at = None
        try:
            while not self.stopping.is_set():
                try:
                    socket = connect(self.url + self._since(), open_timeout=10)
                except (InvalidStatus, OSError):  # nginx has no process to offer yet
                    self.stopping.wait(0.2)
                    continue
                self.sockets += 1
                with socket:
                    while not self.stopping.is_set():
                        try:
                            message = json.loads(socket.recv(timeout=0.5))
                        except TimeoutError:
                            continue
                        except ConnectionClosed:
                            break
                        if lost_at is not None:
                            self.returns.append(time.monotonic() - lost_at)
                            lost_at = None
                        self._take(message, socket)
                lost_at = lost_at or time.monotonic()
        except BaseException as exc:
            self.error = exc

    def _since(self) -> str:
        if not self.seqs:
            return ""
        return "?since=" + quote(json.dumps({"revision": self.revision, "streams": self.seqs}))

    def _take(self, message: dict, socket) -> None:
        with self.lock:
            if message["type"] == "snapshot":
                self.xs = [list(trace.get("x", [])) for trace in message["figure"]["data"]]
                self.seqs = {stream: state["seq"] for stream, state in message["streams"].items()}
                self.revision = message["revision"]
                return
            if message["type"] != "updates":
                return
            for update in message["updates"]:
                stream, seq = str(update["stream"]), update["seq"]
                last = self.seqs.get(stream, 0)
                if seq <= last:
                    continue  # held already
                if seq > last + 1:
                    socket.send(json.dumps({"type": "resync"}))  # lost on the way: the snapshot repairs it
                self.seqs[stream] = seq
                for index, delta in update["traces"].items():
                    self.xs[int(index)].extend(delta.get("extend", {}).get("x", []))

    def traces(self) -> list[list]:
        assert self.error is None, f"the viewer failed: {self.error!r}"
        with self.lock:
            return [list(xs) for xs in self.xs]


def streams_started(log: str, stream_ids: list[int]) -> list[int]:
    """The producers' streams a process's log says it took, each once."""
    started = set(map(int, re.findall(r"stream (\d+) from \S+ started", log)))
    return [stream_id for stream_id in stream_ids if stream_id in started]


def streams_of(log: str, stream_id: int) -> int:
    """How many connections of one stream a process's log says it took."""
    return len(re.findall(rf"stream {stream_id} from \S+ started", log))


@dataclass
class Connection:
    """One producer's connection to a token, on the process that took it; `xs` what it wrote."""

    stream: client.Stream
    process: int
    xs: list[int]


@dataclass
class Token:
    """A token fed by one connection after another, and the plot it feeds."""

    token: str
    plot_id: int
    connections: list[Connection] = field(default_factory=list)

    def stored(self) -> list[int]:
        """What the plot must hold: every line each connection's answer acknowledged."""
        return [x for c in self.connections for x in c.xs[: c.stream.accepted]]


def take_over_across_the_survivors(deployment: Deployment, user: Api, survivors: list[int]) -> Token:
    """Connections to one token through nginx, each the newest, until one lands on the other
    surviving process than the one it takes over from: each older one is told 409 with every
    line it wrote acknowledged, and the plot holds every line once, in order."""
    token = user.make_token("taken over")
    fed = Token(token, user.make_plot([token], maxpoints=MAXPOINTS)["id"])
    stream_id = user.stream_id(token)
    for attempt in range(TAKEOVER_ATTEMPTS):
        before = {n: streams_of(deployment.log(n), stream_id) for n in survivors}
        newest = Connection(client.Stream(deployment.site, token, backoff=0.2, max_backoff=1), -1, [])
        for i in range(LINES_A_CONNECTION):
            newest.xs.append(attempt * 1000 + i)
            newest.stream.write({"x": newest.xs[-1], "y": attempt})
        landed = wait_for(
            lambda: [n for n in survivors if streams_of(deployment.log(n), stream_id) > before[n]],  # noqa: B023
            timeout=30,
            interval=0.1,
            message="the newest connection started on a surviving process",
        )
        newest.process = landed[0]
        written = LINES_A_CONNECTION * (attempt + 1)
        wait_for(
            lambda: user.stream_status(token)["accepted"] == written,  # noqa: B023
            timeout=30,
            interval=0.1,
            message="the newest connection's lines stored",
        )
        if fed.connections:
            older = fed.connections[-1].stream
            with pytest.raises(client.StreamError) as refused:
                older.close()
            assert refused.value.status == 409, refused.value
            assert (older.accepted, older.pending) == (LINES_A_CONNECTION, 0), older.totals()
        fed.connections.append(newest)
        if len(fed.connections) > 1 and fed.connections[-2].process != newest.process:
            break
        # nginx takes turns over the processes for every request: this test's (one connection
        # and one status a turn) may keep meeting the same one; one more request moves it on.
        user.stream_status(token)
    else:
        pytest.fail(f"no takeover across processes in {TAKEOVER_ATTEMPTS} connections: {fed.connections}")
    every = [x for c in fed.connections for x in c.xs]  # the newest one's too: the token counted them
    assert [trace["x"] for trace in user.figure(fed.plot_id)["data"]] == [every]
    assert user.stream_status(token)["takeovers"] == len(fed.connections) - 1
    return fed


def revoke_on_a_survivor(user: Api, fed: Token) -> float:
    """Revoke a token a surviving process holds while its producer writes: the producer is
    told 410 within REVOCATION_DEADLINE, and every line that answer acknowledged stays stored.
    Returns the seconds it took."""
    holder = fed.connections[-1]
    user.revoke(fed.token)
    revoked = time.monotonic()

    def told() -> client.StreamError | None:
        holder.xs.append(holder.xs[-1] + 1)
        try:
            holder.stream.write({"x": holder.xs[-1], "y": -1})
        except client.StreamError as exc:
            return exc
        return None

    refusal = wait_for(told, timeout=REVOCATION_DEADLINE, interval=0.05, message="the revoked producer told")
    took = time.monotonic() - revoked
    assert (refusal.status, refusal.answer.get("message")) == (410, "the stream token was revoked"), refusal
    assert holder.stream.accepted >= LINES_A_CONNECTION, holder.stream.totals()
    assert [trace["x"] for trace in user.figure(fed.plot_id)["data"]] == [fed.stored()]
    assert user.stream_status(fed.token)["accepted"] == len(fed.stored())
    return took


@pytest.mark.long
def test_a_node_killed_behind_nginx_loses_no_line_and_stores_none_twice(postgres_db, artifacts, tmp_path):
    with deployed(postgres_db.env, artifacts, tmp_path, processes=3, name="node") as deployment:
        watch_and_kill_one(deployment, postgres_db.env)


def watch_and_kill_one(deployment: Deployment, database_env: dict[str, str]) -> None:
    """The test's body: producers and viewers through nginx, one process killed."""
    nodes, http_port, site = deployment.workers, deployment.http_port, deployment.site
    viewers: list[Viewer] = []
    producers: list = []
    writers: list[threading.Thread] = []
    failures: list[BaseException] = []
    try:
        user = new_user(database_env, site)
        tokens = [user.make_token(f"producer {n}") for n in range(PRODUCERS)]
        plot = user.make_plot(tokens, maxpoints=MAXPOINTS)
        stream_ids = [user.stream_id(token) for token in tokens]

        # Viewers until every process has one (nginx spreads connections round robin).
        while len(viewers) < VIEWERS_AT_MOST and not all("WebSocket /ws/plots/" in deployment.log(n) for n in range(3)):
            viewers.append(Viewer(http_port, plot["id"]))
            viewers[-1].start()
            wait_for(lambda: viewers[-1].sockets, timeout=30, message="a viewer's socket through nginx")
        assert all("WebSocket /ws/plots/" in deployment.log(n) for n in range(3)), "a viewer on every process"

        urls = [site] * (PRODUCERS - 1) + [f"http://127.0.0.1:{deployment.proxy_stream_port}"]
        producers = [
            client.Stream(url, token, backoff=0.2, max_backoff=1) for url, token in zip(urls, tokens, strict=True)
        ]
        written = [0] * PRODUCERS
        done = threading.Event()

        def produce(n: int) -> None:
            # A steady producer until told to end: write blocks while nginx has no process for it.
            try:
                while not done.is_set():
                    producers[n].write({"x": written[n], "y": written[n] % 11})
                    written[n] += 1
                    if written[n] % 10 == 0:
                        done.wait(0.05)
            except BaseException as exc:
                failures.append(exc)

        writers = [threading.Thread(target=produce, args=(n,)) for n in range(PRODUCERS)]
        for writer in writers:
            writer.start()

        def stored() -> list[int]:
            return [user.stream_status(token)["accepted"] for token in tokens]

        wait_for(lambda: min(stored()) >= 150, timeout=90, interval=0.2, message="150 lines of each producer stored")
        held = [streams_started(deployment.log(n), stream_ids) for n in range(3)]
        victim = max(range(3), key=lambda n: len(held[n]))
        assert held[victim], f"no process holds a producer's stream: {held}"

        nodes[victim].stop(signal.SIGKILL)
        killed = time.monotonic()
        at_kill = dict(zip(stream_ids, stored(), strict=True))

        # The producers the dead process held: how long until their lines are stored again.
        back: dict[int, float] = {}

        def producers_back() -> bool:
            for stream_id, accepted in zip(stream_ids, stored(), strict=True):
                if stream_id in held[victim] and stream_id not in back and accepted > at_kill[stream_id]:
                    back[stream_id] = time.monotonic() - killed
            return len(back) == len(held[victim])

        wait_for(producers_back, timeout=60, interval=0.2, message="the dead process's producers storing lines again")
        until = [count + LINES_AFTER for count in written]
        wait_for(lambda: all(map(int.__ge__, written, until)), timeout=60, message="more lines written after")
        done.set()
        for writer in writers:
            writer.join(timeout=60)
        assert not failures, failures
        totals = [stream.close() for stream in producers]

        assert max(written) <= MAXPOINTS, f"more lines than a window holds: {written}"
        expected = [list(range(count)) for count in written]
        figure = user.figure(plot["id"])
        assert [trace["x"] for trace in figure["data"]] == expected, "every line stored once, in order"
        assert stored() == written, "the tokens' counters count each line once"
        resumed = [totals[stream_ids.index(stream_id)] for stream_id in held[victim]]
        assert all(t["skipped"] > 0 for t in resumed), f"the dead process's producers resent stored lines: {totals}"
        assert [t["accepted"] + t["skipped"] for t in totals] == written, totals
        assert all(t["pending"] == 0 for t in totals), totals

        wait_for(
            lambda: all(viewer.traces() == expected for viewer in viewers),
            timeout=60,
            message="every viewer holding every point",
        )
        returned = [seconds for viewer in viewers for seconds in viewer.returns]
        assert returned, "the viewers on the dead process reconnected"
        print(
            f"node death: {len(held[victim])} producers and {len(returned)} viewers were on the killed process; "
            f"producers stored lines again after {', '.join(f'{s:.1f}' for s in sorted(back.values()))} s; "
            f"viewers were back after {', '.join(f'{s:.1f}' for s in sorted(returned))} s; "
            f"resent lines skipped: {[t['skipped'] for t in resumed]}"
        )
        survivors = [n for n in range(3) if n != victim]
        fed = take_over_across_the_survivors(deployment, user, survivors)
        revoked_in = revoke_on_a_survivor(user, fed)
        print(
            f"on the survivors: taken over from process {fed.connections[-2].process + 1} by "
            f"{fed.connections[-1].process + 1} (takeover {len(fed.connections) - 1} of the token); "
            f"the revoked producer was told 410 after {revoked_in:.1f} s"
        )
    finally:
        for stream in producers:
            stream.interrupt()
        for writer in writers:
            writer.join(timeout=30)
        for viewer in viewers:
            viewer.stopping.set()
        for viewer in viewers:
            viewer.join(timeout=10)
