"""Share keys and stream tokens never reach the logs: uvicorn's access and socket lines and
Django's warnings show `[redacted]` in their place."""

from __future__ import annotations

import urllib.request
import uuid
from urllib.parse import parse_qs, urlsplit

from websockets.sync.client import connect

from harness.live_server import wait_for
from plotserver.log_redaction import redact


def test_redact_hides_share_keys_and_tokens_and_keeps_ids_and_other_parameters():
    assert (
        redact("GET /~ann/3/?share_key=AbC-123&since=4 HTTP/1.1")
        == "GET /~ann/3/?share_key=[redacted]&since=4 HTTP/1.1"
    )
    assert redact("/api/streams/tok_9f8e7d/") == "/api/streams/[redacted]/"
    assert redact("/api/streams/tok_9f8e7d") == "/api/streams/[redacted]"
    assert redact("/api/streams/42/") == "/api/streams/42/"
    assert redact("/api/streams/?page=2") == "/api/streams/?page=2"
    assert redact("/ws/plots/3/?since=%7B%7D&share_key=k") == "/ws/plots/3/?since=%7B%7D&share_key=[redacted]"
    # InfluxDB 1's clients send the API key as `p` (docs/ingest.md).
    assert (
        redact("POST /write?db=1&u=alice&p=s3cret&precision=s") == "POST /write?db=1&u=alice&p=[redacted]&precision=s"
    )


def test_a_real_servers_log_shows_no_share_key_and_no_stream_token(server, producer):
    token = producer.make_token()
    plot = producer.make_plot([token], sharing="secret")
    share_key = parse_qs(urlsplit(plot["web_url"]).query)["share_key"][0]
    unknown_token = f"unknown-{uuid.uuid4().hex}"

    with urllib.request.urlopen(plot["web_url"], timeout=10) as page:
        assert page.status == 200
    with connect(f"ws://127.0.0.1:{server.port}/ws/plots/{plot['id']}/?share_key={share_key}") as viewer:
        assert "figure" in viewer.recv(timeout=10)
    producer.request("GET", f"/api/streams/{token}/")
    assert producer.request("GET", f"/api/streams/{unknown_token}/")[0] == 410  # streams go by id

    wait_for(lambda: "Gone: /api/streams/[redacted]/" in server.log_text(), timeout=20)
    log = server.log_text()
    assert "share_key=[redacted]" in log
    assert "WebSocket /ws/plots/" in log  # the socket line is there, with its key redacted
    for secret in (share_key, token, unknown_token):
        assert secret not in log
