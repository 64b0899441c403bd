"""LOG_FORMAT=json: every log line of a server is one JSON object, stream endings included."""

from __future__ import annotations

import json

from tests.client_module import plotserver_client as client
from tests.live_server import new_user, wait_for


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
