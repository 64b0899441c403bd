"""LOG_FORMAT=json: every log line of a server is one JSON object, stream endings included."""

from __future__ import annotations

import json

from harness.live_server import new_user, wait_for
from tests.client_module import plotserver_client as client


def test_a_server_with_log_format_json_writes_json_lines(start_server, integration_db):
    server = start_server(name="json-logs", LOG_FORMAT="json")
    user = new_user(integration_db.env, server.url)
    token = user.make_token()
    user.make_plot([token])
    with client.Stream(server.url, token) as stream:
        stream.write({"x": 1, "y": 1})

    def logged() -> list[dict]:
        records = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
        return records if any("ended" in record["message"] for record in records) else []

    records = wait_for(logged, message="the stream's end in the log")
    ended = next(record for record in records if "ended" in record["message"])
    assert ended["logger"] == "plotserver.streaming"
    assert ended["level"] == "INFO"
    assert token not in ended["message"]
    access = [record for record in records if record["logger"] == "uvicorn.access"]
    assert access, "uvicorn's access lines are JSON too"


def test_a_stream_logs_its_start_and_end_as_fields_never_its_token(start_server, integration_db):
    server = start_server(name="json-stream-logs", LOG_FORMAT="json")
    user = new_user(integration_db.env, server.url)
    stream_info = user.make_stream()
    user.make_plot([stream_info["token"]])
    with client.Stream(server.url, stream_info["token"]) as stream:
        stream.write({"x": 1, "y": 1})
        stream.write({"x": 2, "y": 2})

    def events() -> dict[str, dict]:
        records = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
        found = {r["event"]: r for r in records if r.get("event") in ("stream.start", "stream.end")}
        return found if len(found) == 2 else {}

    found = wait_for(events, message="the stream's start and end in the log")
    start, end = found["stream.start"], found["stream.end"]
    assert (start["token_id"], start["remote_addr"]) == (stream_info["id"], "127.0.0.1")
    assert (end["token_id"], end["status"], end["accepted"], end["rejected"]) == (stream_info["id"], 200, 2, 0)
    assert end["reason"] == "stream ended cleanly"
    assert end["duration"] >= 0
    assert stream_info["token"] not in server.log_text()
