"""Alerts against a real server, with a webhook receiver of the test's own on 127.0.0.1 (listed
in ALERT_WEBHOOK_HOSTS): silence fires and resolves, a threshold fires once per crossing, each
transition is a signed POST and an annotation on the plot, a failing receiver is retried, a
webhook that does not answer holds no stream back, another user sees none of it, and a restart
neither loses nor repeats a firing (docs/alerts.md).

The servers have a database of their own: the alerts' timer is one process's (a lease in the
database), and the session's shared server would otherwise hold it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.live_server import IntegrationDatabase, LiveServer, fetch, new_user, wait_for
from harness.producer import RawStream

SERVER_ENV = {
    "ALERT_WEBHOOK_HOSTS": "127.0.0.1",
    "ALERT_DELIVERY_RETRY_FIRST": "0.2",
    "ALERT_WEBHOOK_TIMEOUT": "3",
    "ALERT_MIN_INTERVAL": "0",  # every crossing its own transition (ALERT_MIN_INTERVAL is in process)
}

# How long a test waits for what it expects (timer ticks, retries, a restart): a deadline for a
# loaded machine, never a bound on how fast it comes.
WAIT = 30


class Receiver:
    """A webhook receiver: keeps each POST's headers and body; answers 500 to the first
    `failures` requests, or holds every request until the test ends with `hang`."""

    def __init__(self, failures: int = 0, hang: bool = False) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.failures = failures
        self.hang = hang
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.hang:
                    receiver.release.wait(30)
                    return
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(500)
                else:
                    receiver.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/hook"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def states(self) -> list[str]:
        return [json.loads(body)["state"] for _, body in self.received]

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="module")
def alerts_server(tmp_path_factory, artifacts):
    database = IntegrationDatabase(tmp_path_factory.mktemp("alerts"))
    server = LiveServer({**database.env, **SERVER_ENV}, artifacts, name="alerts").start()
    yield server
    server.stop()
    database.drop()


@pytest.fixture(scope="module")
def owner(alerts_server):
    """The owner of the plots and alerts (one for the module: making a user takes a process)."""
    return new_user(alerts_server.env, alerts_server.url)


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**options) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for each in made:
        each.close()


def streaming(owner, server) -> tuple[dict, RawStream]:
    """A new plot of the owner's, and an open stream into its one trace (`stream.token`)."""
    token = owner.make_token()
    plot = owner.make_plot([token])
    stream = RawStream(server.port, token).open()
    stream.token = token
    return plot, stream


def alert_on(owner, plot: dict, **fields) -> dict:
    return owner.ok("POST", "/api/alerts/", {"plot": plot["id"], "trace": 0, **fields})


def gauge(server) -> float | None:
    """plotserver_alerts_firing as /metrics shows it."""
    for line in fetch(f"{server.url}/metrics")[2].splitlines():
        if line.startswith("plotserver_alerts_firing "):
            return float(line.split()[1])
    return None


def texts(owner, plot: dict) -> list[str]:
    return [a["text"] for a in owner.ok("GET", f"/api/plots/{plot['id']}/annotations/")]


def test_silence_fires_and_resolves_with_a_signed_post_and_an_annotation_each(alerts_server, owner, receiver):
    hook = receiver()
    plot, stream = streaming(owner, alerts_server)
    stream.write({"x": 1, "y": 5})
    alert = alert_on(owner, plot, condition="silence", seconds=1, webhook=hook.url)
    wait_for(lambda: hook.states() == ["firing"], message="the firing POST", timeout=WAIT)
    assert owner.ok("GET", f"/api/alerts/{alert['id']}/")["state"] == "firing"
    stream.write({"x": 2, "y": 6})
    wait_for(lambda: hook.states() == ["firing", "resolved"], message="the resolved POST", timeout=WAIT)
    stream.end()

    headers, body = hook.received[0]
    expected = hmac.new(alert["webhook_secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Plotserver-Signature"] == f"sha256={expected}"
    sent = json.loads(body)
    assert {k: sent[k] for k in ("alert", "state", "plot", "trace", "condition")} == {
        "alert": alert["id"],
        "state": "firing",
        "plot": plot["id"],
        "trace": 0,
        "condition": "silence",
    }
    assert sent["value"] >= 1 and sent["at"].endswith("Z")
    made = texts(owner, plot)
    assert len(made) == 2 and made[0].startswith("silent since ") and made[1] == "streaming again"


def test_a_threshold_fires_once_per_crossing(alerts_server, owner, receiver):
    hook = receiver()
    plot, stream = streaming(owner, alerts_server)
    alert = alert_on(owner, plot, condition="above", threshold=50, webhook=hook.url)
    path = f"/api/alerts/{alert['id']}/"

    def evaluated(y: float) -> bool:
        stream.write({"x": 0, "y": y})
        return owner.ok("GET", path)["last_value"] == y

    wait_for(lambda: evaluated(10), interval=0.1, message="the alert evaluating the stream", timeout=WAIT)
    stream.write({"y": 63.2})
    wait_for(lambda: hook.states() == ["firing"], message="one firing", timeout=WAIT)
    for y in (70, 80):  # still above: no repeat
        stream.write({"y": y})
    stream.write({"y": 40})
    wait_for(lambda: hook.states() == ["firing", "resolved"], message="resolved", timeout=WAIT)
    stream.write({"y": 90})
    wait_for(lambda: hook.states() == ["firing", "resolved", "firing"], message="the second crossing", timeout=WAIT)
    stream.end()
    assert [json.loads(body)["value"] for _, body in hook.received] == [63.2, 40, 90]
    assert texts(owner, plot) == ["above 50: 63.2", "back from above 50: 40", "above 50: 90"]
    answer = owner.ok("GET", path)
    assert (answer["state"], answer["last_value"]) == ("firing", 90)
    # The gauge counts the alerts firing (this one among them).
    firing = lambda: sum(a["state"] == "firing" for a in owner.ok("GET", "/api/alerts/")["results"])  # noqa: E731
    wait_for(lambda: gauge(alerts_server) == firing() >= 1, message="the gauge", timeout=WAIT)


def test_a_failing_receiver_is_retried_and_every_attempt_is_in_the_status(alerts_server, owner, receiver):
    hook = receiver(failures=2)
    plot, stream = streaming(owner, alerts_server)
    alert = alert_on(owner, plot, condition="silence", seconds=0.5, webhook=hook.url)
    wait_for(lambda: hook.states() == ["firing"], message="the POST, third time lucky", timeout=WAIT)
    stream.end()
    wait_for(
        lambda: len(owner.ok("GET", f"/api/alerts/{alert['id']}/")["delivery"]) == 3,
        message="three attempts",
        timeout=WAIT,
    )
    attempts = owner.ok("GET", f"/api/alerts/{alert['id']}/")["delivery"]
    assert [(a["ok"], a["outcome"]) for a in attempts] == [(False, "HTTP 500"), (False, "HTTP 500"), (True, "HTTP 204")]


def test_a_webhook_that_never_answers_holds_no_stream_back(alerts_server, owner, receiver):
    hook = receiver(hang=True)
    plot, stream = streaming(owner, alerts_server)
    alert = alert_on(owner, plot, condition="above", threshold=0, webhook=hook.url)
    path = f"/api/alerts/{alert['id']}/"
    written = 0

    def evaluated() -> bool:
        nonlocal written
        stream.write({"x": written, "y": -1})
        written += 1
        return owner.ok("GET", path)["last_value"] == -1

    wait_for(evaluated, interval=0.1, message="the alert evaluating the stream", timeout=WAIT)
    for i in range(written, written + 300):  # crossing after crossing, each owing a POST to the hung receiver
        stream.write({"x": i, "y": 1 if i % 2 else -1})
    assert stream.end().json["accepted"] == written + 300
    assert len(owner.figure(plot["id"])["data"][0]["x"]) == written + 300
    wait_for(lambda: texts(owner, plot), message="the first firing recorded", timeout=WAIT)
    assert texts(owner, plot)[0] == "above 0: 1"
    # The POSTs were tried, and each was cut off at ALERT_WEBHOOK_TIMEOUT.
    wait_for(lambda: owner.ok("GET", path)["delivery"], message="an attempt at the hung receiver", timeout=WAIT)
    [first, *_] = owner.ok("GET", path)["delivery"]
    assert (first["kind"], first["ok"]) == ("webhook", False)
    assert "no answer within ALERT_WEBHOOK_TIMEOUT" in first["outcome"]


def test_another_user_sees_no_alert_of_the_owner(alerts_server, owner):
    other = new_user(alerts_server.env, alerts_server.url)
    plot = owner.make_plot([owner.make_token()])
    alert = alert_on(owner, plot, condition="silence", seconds=60)
    assert other.request("GET", f"/api/alerts/{alert['id']}/")[0] == 404
    assert other.ok("GET", "/api/alerts/")["results"] == []
    status, refused = other.request(
        "POST", "/api/alerts/", {"plot": plot["id"], "trace": 0, "condition": "silence", "seconds": 5}
    )
    assert status == 400 and refused["errors"][0]["field"] == "plot"


def test_a_restart_neither_loses_nor_repeats_a_firing(alerts_server, owner, receiver):
    hook = receiver(failures=1_000_000)  # away until the restart
    silent_hook = receiver()
    silent_plot = owner.make_plot([owner.make_token()])
    alert_on(owner, silent_plot, condition="silence", seconds=0.5, webhook=silent_hook.url)
    wait_for(lambda: silent_hook.states() == ["firing"], message="the silence firing before the restart", timeout=WAIT)
    plot, stream = streaming(owner, alerts_server)
    alert = alert_on(owner, plot, condition="above", threshold=50, webhook=hook.url)
    path = f"/api/alerts/{alert['id']}/"
    wait_for(
        lambda: stream.write({"x": 0, "y": 10}) or owner.ok("GET", path)["last_value"] == 10, interval=0.1, timeout=WAIT
    )
    stream.write({"y": 99})
    wait_for(lambda: owner.ok("GET", path)["delivery"], message="a first failed attempt", timeout=WAIT)
    alerts_server.stop()
    hook.failures = 0
    alerts_server.start()
    wait_for(lambda: hook.states() == ["firing"], message="the firing delivered after the restart", timeout=WAIT)
    # The timer checked silence before it delivered that: the silent stream did not fire again.
    assert silent_hook.states() == ["firing"]
    stream = RawStream(alerts_server.port, stream.token).open()
    stream.write({"y": 98})  # still above: no second firing
    stream.write({"y": 20})
    wait_for(lambda: hook.states() == ["firing", "resolved"], message="resolved once", timeout=WAIT)
    stream.end()
    assert texts(owner, plot) == ["above 50: 99", "back from above 50: 20"]
