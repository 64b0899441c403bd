"""A node dies: three plotserver processes on PostgreSQL and Redis behind deploy/'s nginx, one
killed with SIGKILL while producers stream through nginx and viewers watch through it.

The producers are the client's `Stream` (what `plotserver-stream` runs), three through nginx's
HTTP proxy to the main port and one through its TCP proxy to the stream listener. Those the dead
process held get no answer: they reconnect through nginx to another process and send again
every line no answer acknowledged; the new holder takes the token over once the dead one does
not answer (STREAM_TAKEOVER_TIMEOUT) and skips the lines the dead one had stored (the
`plotserver-resume` header). Viewers whose socket was on the dead process reconnect with
`since` and catch up. Every line is stored exactly once, and every viewer ends with every point.
The test prints how long producers and viewers took to come back (docs/deployment.md, "A
node's death").
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from urllib.parse import quote

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from harness.live_server import new_user, wait_for
from tests.client_module import plotserver_client as client
from tests.deployment import Deployment, deployed

PRODUCERS = 4  # the last one through the stream listener
# Lines each producer writes after its stream came back, before it ends: the test's length.
LINES_AFTER = 150
# The largest window: more than a producer writes at its pace (200 lines a second) in the
# seconds the test lasts, so the window holds every line.
MAXPOINTS = 10_000
VIEWERS_AT_MOST = 12  # opened until every process has one


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
    finally:
        for stream in producers:
            stream.interrupt()
        for writer in writers:
            writer.join(timeout=30)
        for viewer in viewers:
            viewer.stopping.set()
        for viewer in viewers:
            viewer.join(timeout=10)
