"""Line protocol over plain HTTP, as Telegraf and curl send it: InfluxDB 1's `/write` and 2's
`/api/v2/write` on a real server, their answers, and what a plot shows afterwards."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import signal
from urllib.parse import urlencode

from harness.live_server import Api, new_user, wait_for

NS = 1_000_000_000
# 2026-12-07T10:00:00 UTC, in seconds.
T0 = 1796637600


def post(port: int, path: str, params: dict, body: bytes, headers: dict | None = None):
    """POST `body` to `path?params`; (status, JSON answer or None, headers)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", f"{path}?{urlencode(params)}", body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def basic(user: Api) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{user.username}:{user.key}".encode()).decode()}


def token_header(user: Api) -> dict:
    return {"Authorization": f"Token {user.key}"}


def traces_by_name(user: Api, plot_id: int) -> dict:
    return {trace["name"]: trace for trace in user.figure(plot_id)["data"]}


def test_a_v2_write_makes_a_trace_per_series_with_dates_for_x(server, producer):
    plot = producer.make_plot([])
    body = (
        f"cpu,host=a,cpu=cpu0 usage_idle=97.5,usage_user=2i {T0 * NS}\n"
        f"cpu,cpu=cpu0,host=a usage_idle=96 {(T0 + 1) * NS + 250_000_000}\n"
        f"mem,host=a used_percent=41.25,ok=true {T0 * NS}\n"
    ).encode()
    status, answer, _ = post(
        server.port, "/api/v2/write", {"bucket": plot["id"], "org": "x"}, body, token_header(producer)
    )
    assert (status, answer) == (204, None)
    traces = traces_by_name(producer, plot["id"])
    assert set(traces) == {
        "cpu usage_idle cpu=cpu0,host=a",
        "cpu usage_user cpu=cpu0,host=a",
        "mem used_percent host=a",
        "mem ok host=a",
    }
    assert traces["cpu usage_idle cpu=cpu0,host=a"]["x"] == ["2026-12-07T10:00:00.000000", "2026-12-07T10:00:01.250000"]
    assert traces["cpu usage_idle cpu=cpu0,host=a"]["y"] == [97.5, 96]
    assert traces["cpu usage_user cpu=cpu0,host=a"]["y"] == [2]
    assert traces["mem ok host=a"]["y"] == [1]


def test_a_second_write_appends_to_the_same_traces(server, producer):
    plot = producer.make_plot([])
    for second in range(3):
        status, _, _ = post(
            server.port,
            "/api/v2/write",
            {"bucket": plot["id"], "precision": "s"},
            f"temp,room=lab celsius={20 + second} {T0 + second}".encode(),
            token_header(producer),
        )
        assert status == 204
    [trace] = producer.figure(plot["id"])["data"]
    assert trace["x"] == ["2026-12-07T10:00:00", "2026-12-07T10:00:01", "2026-12-07T10:00:02"]
    assert trace["y"] == [20, 21, 22]


def test_v1_takes_basic_credentials_or_u_and_p(server, producer):
    plot = producer.make_plot([])
    status, _, _ = post(
        server.port, "/write", {"db": plot["id"], "precision": "ms"}, f"a v=1 {T0 * 1000}".encode(), basic(producer)
    )
    assert status == 204
    params = {"db": plot["id"], "precision": "ms", "u": producer.username, "p": producer.key}
    status, _, _ = post(server.port, "/write", params, f"a v=2 {T0 * 1000 + 5}".encode())
    assert status == 204
    [trace] = producer.figure(plot["id"])["data"]
    assert trace["x"] == ["2026-12-07T10:00:00.000", "2026-12-07T10:00:00.005"]
    assert trace["y"] == [1, 2]


def test_a_gzip_body_is_read(server, producer):
    plot = producer.make_plot([])
    body = gzip.compress("\n".join(f"g v={i} {(T0 + i) * NS}" for i in range(100)).encode())
    headers = {**token_header(producer), "Content-Encoding": "gzip"}
    status, _, _ = post(server.port, "/api/v2/write", {"bucket": plot["id"]}, body, headers)
    assert status == 204
    assert producer.figure(plot["id"])["data"][0]["y"] == list(range(100))


def test_a_line_without_a_timestamp_is_stamped_with_its_arrival(server, producer):
    plot = producer.make_plot([])
    status, _, _ = post(
        server.port, "/api/v2/write", {"bucket": plot["id"], "precision": "s"}, b"now v=1", token_header(producer)
    )
    assert status == 204
    [x] = producer.figure(plot["id"])["data"][0]["x"]
    assert len(x) == len("2026-12-07T10:00:00") and x[:2] == "20"


def test_a_bad_line_is_named_and_every_good_line_is_kept(server, producer):
    plot = producer.make_plot([])
    body = f'ok v=1 {T0 * NS}\nok v= {T0 * NS}\nok v=3 {(T0 + 1) * NS}\nok v="2026-02-30T05:20Z" {T0 * NS}\n'.encode()
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": plot["id"]}, body, token_header(producer))
    assert status == 400
    assert answer["code"] == "invalid"
    assert answer["message"].startswith("partial write: line 2: unable to parse 'ok v= ")
    assert "(and 1 more lines rejected: 4)" in answer["message"]
    assert answer["message"].endswith("; 2 points written")
    assert producer.figure(plot["id"])["data"][0]["y"] == [1, 3]
    [stream] = [s for s in producer.ok("GET", "/api/streams/")["results"] if s["name"] == "line protocol: ok v"]
    assert (stream["accepted"], stream["rejected"]) == (2, 1)  # the core counted the line it refused


def test_v1_errors_also_carry_error_for_influxdb_1_clients(server, producer):
    plot = producer.make_plot([])
    status, answer, _ = post(server.port, "/write", {"db": plot["id"]}, b"x", basic(producer))
    assert status == 400
    assert answer["error"] == answer["message"] and answer["code"] == "invalid"


def test_a_bad_precision_or_a_missing_plot_or_an_empty_body_is_invalid(server, producer):
    plot = producer.make_plot([])
    for path, params, body in [
        ("/api/v2/write", {"bucket": plot["id"], "precision": "fortnight"}, b"a v=1"),
        ("/api/v2/write", {}, b"a v=1"),
        ("/write", {}, b"a v=1"),
        ("/api/v2/write", {"bucket": plot["id"]}, b"\n\n"),
    ]:
        status, answer, _ = post(server.port, path, params, body, token_header(producer))
        assert status == 400, (params, answer)
        assert answer["code"] == "invalid"


def test_no_key_or_a_wrong_key_is_401(server, producer):
    plot = producer.make_plot([])
    status, answer, headers = post(server.port, "/api/v2/write", {"bucket": plot["id"]}, b"a v=1")
    assert (status, answer["code"]) == (401, "unauthorized")
    assert headers["www-authenticate"].startswith("Basic")
    assert "Authorization: Token API_KEY" in answer["message"]
    status, answer, _ = post(
        server.port, "/api/v2/write", {"bucket": plot["id"]}, b"a v=1", {"Authorization": "Token nope"}
    )
    assert (status, answer["code"]) == (401, "unauthorized")
    status, answer, _ = post(server.port, "/write", {"db": plot["id"], "u": producer.username, "p": "nope"}, b"a v=1")
    assert (status, answer["code"]) == (401, "unauthorized")
    assert producer.figure(plot["id"])["data"] == []


def test_someone_elses_plot_is_403_when_public_and_404_when_private(server, producer, integration_db):
    other = new_user(integration_db.env, server.url)
    public = other.make_plot([], sharing="public")
    private = other.make_plot([], sharing="private")
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": public["id"]}, b"a v=1", token_header(producer))
    assert (status, answer["code"]) == (403, "forbidden")
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": private["id"]}, b"a v=1", token_header(producer))
    assert (status, answer["code"]) == (404, "not found")
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": "999999999"}, b"a v=1", token_header(producer))
    assert (status, answer["code"]) == (404, "not found")
    assert other.figure(public["id"])["data"] == []


def test_a_body_past_the_bound_is_413_gzip_or_not(start_server, integration_db):
    server = start_server(LINEPROTO_MAX_BODY_BYTES="2048", LINEPROTO_MAX_SERIES="3")
    user = new_user(integration_db.env, server.url)
    plot = user.make_plot([])
    body = "\n".join(f"big v={i}" for i in range(400)).encode()
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": plot["id"]}, body, token_header(user))
    assert (status, answer["code"]) == (413, "request too large")
    assert "LINEPROTO_MAX_BODY_BYTES" in answer["message"]
    headers = {**token_header(user), "Content-Encoding": "gzip"}
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": plot["id"]}, gzip.compress(body), headers)
    assert (status, answer["code"]) == (413, "request too large")
    assert user.figure(plot["id"])["data"] == []

    # The series bound: the fourth series of the plot is refused, the first three are written.
    body = b"s,n=1 v=1\ns,n=2 v=2\ns,n=3 v=3\ns,n=4 v=4\ns,n=1 v=5\n"
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": plot["id"]}, body, token_header(user))
    assert (status, answer["code"]) == (400, "invalid")
    assert answer["message"].startswith("partial write: line 4: max series per plot exceeded")
    assert "LINEPROTO_MAX_SERIES" in answer["message"]
    traces = traces_by_name(user, plot["id"])
    assert {name: trace["y"] for name, trace in traces.items()} == {"s v n=1": [1, 5], "s v n=2": [2], "s v n=3": [3]}


def test_a_series_shows_up_live_for_a_viewer(server, producer):
    from websockets.sync.client import connect

    plot = producer.make_plot([])
    post(
        server.port,
        "/api/v2/write",
        {"bucket": plot["id"], "precision": "s"},
        f"live v=1 {T0}".encode(),
        token_header(producer),
    )
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/") as viewer:
        snapshot = json.loads(viewer.recv(timeout=10))
        assert snapshot["figure"]["data"][0]["y"] == [1]
        post(
            server.port,
            "/api/v2/write",
            {"bucket": plot["id"], "precision": "s"},
            f"live v=2 {T0 + 1}".encode(),
            token_header(producer),
        )

        def extended():
            message = json.loads(viewer.recv(timeout=10))
            return message["type"] == "updates" and any(
                u["traces"]["0"].get("extend", {}).get("y") == [2] for u in message["updates"]
            )

        wait_for(extended, timeout=20)


TELEGRAF_LINES = (
    "cpu,cpu=cpu-total,host=h1 usage_idle=97.1,usage_user=1.2 1796637600000000000\n"
    "mem,host=h1 used_percent=41.5,available=8123456i 1796637600000000000\n"
)


def test_telegrafs_requests_are_written_as_its_outputs_send_them(server, producer):
    """What docs/ingest.md's Telegraf configuration sends: outputs.influxdb_v2 (Token, gzip,
    bucket and org, no precision) and outputs.influxdb (Basic, gzip, db, no precision)."""
    v2, v1 = producer.make_plot([]), producer.make_plot([])
    common = {"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8", "User-Agent": "Telegraf/1.36.1"}
    body = gzip.compress(TELEGRAF_LINES.encode())
    status, _, _ = post(
        server.port, "/api/v2/write", {"bucket": v2["id"], "org": "any"}, body, {**common, **token_header(producer)}
    )
    assert status == 204
    status, _, _ = post(server.port, "/write", {"db": v1["id"]}, body, {**common, **basic(producer)})
    assert status == 204
    for plot in (v2, v1):
        traces = traces_by_name(producer, plot["id"])
        assert traces["cpu usage_idle cpu=cpu-total,host=h1"]["y"] == [97.1]
        assert traces["mem available host=h1"]["y"] == [8123456]
        assert traces["mem used_percent host=h1"]["x"] == ["2026-12-07T10:00:00.000000"]


def test_a_series_keeps_its_history_past_the_window(server, producer):
    plot = producer.make_plot([], retention="forever")
    body = "\n".join(f"h v={i} {T0 + i}" for i in range(600)).encode()
    status, _, _ = post(
        server.port, "/api/v2/write", {"bucket": plot["id"], "precision": "s"}, body, token_header(producer)
    )
    assert status == 204
    assert len(producer.figure(plot["id"])["data"][0]["y"]) == 500  # the window
    answer = producer.ok("GET", f"/api/plots/{plot['id']}/traces/0/points/?method=none&max_points=1000")
    assert answer["points"]["y"] == list(range(600))
    assert answer["points"]["x"][0] == "2026-12-07T10:00:00"


def test_held_series_streams_end_cleanly_on_sigterm_and_a_restart_writes_on(start_server, integration_db):
    server = start_server(name="lineproto-restart")
    user = new_user(integration_db.env, server.url)
    plot = user.make_plot([])
    params = {"bucket": plot["id"], "precision": "s"}
    assert (
        post(server.port, "/api/v2/write", params, f"r,a=1 v=1 {T0}\nr,a=2 v=2 {T0}".encode(), token_header(user))[0]
        == 204
    )
    assert server.stop() in (0, -signal.SIGTERM)  # the two held streams end with the server
    assert [line for line in server.log_text().splitlines() if " ERROR " in line or "Traceback" in line] == []
    server.start()
    assert post(server.port, "/api/v2/write", params, f"r,a=1 v=3 {T0 + 1}".encode(), token_header(user))[0] == 204
    traces = traces_by_name(user, plot["id"])
    assert {name: trace["y"] for name, trace in traces.items()} == {"r v a=1": [1, 3], "r v a=2": [2]}
    streams = {s["name"]: s for s in user.ok("GET", "/api/streams/")["results"]}
    assert streams["line protocol: r v a=2"]["connected"] is False


def test_a_bucket_name_the_owner_gave_the_plot_names_it_too(server, producer, integration_db):
    plot = producer.make_plot([])
    assert producer.request("PUT", f"/api/plots/{plot['id']}/bucket/", {"name": "lab-7"})[0] == 200
    assert post(server.port, "/api/v2/write", {"bucket": "lab-7"}, b"n v=1", token_header(producer))[0] == 204
    assert post(server.port, "/write", {"db": "lab-7"}, b"n v=2", basic(producer))[0] == 204
    assert producer.figure(plot["id"])["data"][0]["y"] == [1, 2]
    other = new_user(integration_db.env, server.url)  # names are each owner's own
    status, answer, _ = post(server.port, "/api/v2/write", {"bucket": "lab-7"}, b"n v=3", token_header(other))
    assert (status, answer["code"]) == (404, "not found")
