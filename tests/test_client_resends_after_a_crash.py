"""The client across a crash: every line stored exactly once.

The server is killed with SIGKILL in the middle of a stream, so the client never gets an answer
for the lines it had sent; a new server starts on the same port and database. The client sends
every unacknowledged line again, the new server skips the ones the dead one had stored (the
`plotserver-resume` header, docs/streaming.md "Resuming after a crash") and takes the rest.
"""

from __future__ import annotations

import signal
import threading
import time

from harness.live_server import LiveServer, new_user, wait_for
from tests.client_module import plotserver_client as client

LINES = 2000


def test_lines_resent_after_a_crash_are_stored_once_no_gap_no_duplicate(start_server, integration_db, artifacts):
    first = start_server(name="client-before-crash")
    user = new_user(integration_db.env, first.url)
    token = user.make_token()
    plot = user.make_plot([token], maxpoints=LINES)
    stream = client.Stream(first.url, token, backoff=0.2, max_backoff=1)
    failure: list[BaseException] = []

    def produce() -> None:
        # A steady producer: it keeps writing through the crash and the start (write blocks
        # while the server cannot be reached).
        try:
            for i in range(LINES):
                stream.write({"x": i, "y": i % 7})
                if i % 20 == 0:
                    threading.Event().wait(0.005)
        except BaseException as exc:
            failure.append(exc)

    writer = threading.Thread(target=produce)
    writer.start()
    second = None
    try:
        wait_for(lambda: user.stream_status(token)["accepted"] >= 300, timeout=60, message="300 lines stored")
        first.stop(signal.SIGKILL)
        killed = time.monotonic()
        second = LiveServer(first.env, artifacts, name="client-after-crash")
        second.port = first.port  # the producer keeps its URL
        second.start()
        started = time.monotonic()
        user.base_url = second.url
        stored_before = user.stream_status(token)["accepted"]
        wait_for(
            lambda: user.stream_status(token)["accepted"] > stored_before, timeout=60, message="lines stored again"
        )
        reconnected = time.monotonic()
        writer.join(timeout=120)
        assert not failure, failure
        totals = stream.close()
        print(
            f"crash: the new server answered {started - killed:.1f} s after the kill; the client's lines were "
            f"stored again {reconnected - started:.1f} s later; {totals['skipped']} resent lines skipped"
        )

        assert user.figure(plot["id"])["data"][0]["x"] == list(range(LINES)), "each line stored once, in order"
        assert totals["skipped"] >= 300, "the lines the dead server had stored were resent, and skipped"
        assert totals["accepted"] + totals["skipped"] == LINES
        assert totals["pending"] == 0
        assert user.stream_status(token)["accepted"] == LINES, "the token's counter counts each line once"
    finally:
        stream.interrupt()
        writer.join(timeout=30)
        if second is not None:
            second.stop()
