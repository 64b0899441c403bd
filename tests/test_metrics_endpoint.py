"""/metrics: Prometheus text for allowed addresses or a bearer token, summed over the workers."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.live_server import wait_for

pytestmark = pytest.mark.django_db

DEFINED = [
    "plotserver_streams_open",
    "plotserver_streams_ended",
    "plotserver_lines_accepted",
    "plotserver_lines_rejected",
    "plotserver_takeovers",
    "plotserver_revocations",
    "plotserver_limit_hits",
    "plotserver_batch_lines",
    "plotserver_batch_commit_seconds",
    "plotserver_publish_seconds",
    "plotserver_viewers",
    "plotserver_relay_queue_drops",
    "plotserver_stream_tokens_connected",
]


def families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_the_local_machine_may_scrape_every_metric(anonymous):
    response = anonymous.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    found = families(response.content.decode())
    assert set(DEFINED) <= set(found)


def test_another_address_is_refused_with_a_reason(anonymous):
    response = anonymous.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 403
    assert "METRICS_ALLOWED_IPS" in response.json()["detail"]


def test_an_allowed_network_and_the_bearer_token_both_admit(anonymous, settings):
    import ipaddress

    settings.METRICS_ALLOWED_NETWORKS = [ipaddress.ip_network("10.1.0.0/16")]
    settings.METRICS_TOKEN = "scrape-secret"
    assert anonymous.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert anonymous.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403
    assert anonymous.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    admitted = anonymous.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert admitted.status_code == 200


def test_no_series_carries_a_token_plot_or_user(anonymous):
    text = anonymous.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    labels = {label for family in families(text).values() for sample in family.samples for label in sample.labels}
    assert not labels & {"token", "plot", "user", "stream"}


def test_the_connected_tokens_gauge_counts_live_producers(server, producer):
    from tests.client_module import plotserver_client as client

    token = producer.make_token()
    producer.make_plot([token])

    def connected() -> float:
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
            found = families(response.read().decode())
        return found["plotserver_stream_tokens_connected"].samples[0].value

    stream = client.Stream(server.url, token).open()
    try:
        wait_for(lambda: connected() >= 1, message="the producer to count as connected")
    finally:
        stream.close()


def test_with_several_workers_every_one_answers_with_the_sum(start_server, tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    server = start_server(name="metrics-workers", extra_args=("--workers", "2"), PROMETHEUS_MULTIPROC_DIR=str(folder))

    def scraped() -> dict:
        with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
            return families(response.read().decode())

    # Each worker writes its own files; a scrape of either one reads them all.
    wait_for(lambda: len({path.name.rsplit("_", 1)[-1] for path in folder.glob("*.db")}) >= 2, timeout=30)
    found = scraped()
    # Series with labels show up once something counted them; all the others from the start.
    labelled = {"plotserver_streams_ended", "plotserver_lines_rejected", "plotserver_limit_hits"}
    assert set(DEFINED) - labelled <= set(found)
    assert found["plotserver_streams_open"].samples[0].value == 0


def scrape(server) -> dict[str, float]:
    """Every sample of the server's /metrics, by name and labels."""
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        f"{sample.name}{sorted(sample.labels.items())}": sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_stream_is_counted_per_commit_and_at_its_end(server, producer):
    from harness.producer import RawStream

    before = scrape(server)
    token = producer.make_token()
    producer.make_plot([token])
    stream = RawStream(server.port, token).open()
    for x in range(3):
        stream.write({"x": x, "y": x})
    stream.write("not json\n")
    assert stream.end().json["accepted"] == 3

    def grew(name: str, by: float) -> bool:
        return scrape(server).get(name, 0) - before.get(name, 0) >= by

    wait_for(lambda: grew("plotserver_lines_accepted_total[]", 3), message="accepted lines counted")
    assert grew("plotserver_lines_rejected_total[('reason', 'json')]", 1)
    assert grew("plotserver_streams_ended_total[('status', '200')]", 1)
    assert grew("plotserver_batch_lines_count[]", 1)
    assert grew("plotserver_batch_commit_seconds_count[]", 1)


def test_a_quota_answer_counts_as_a_limit_hit(as_alice, anonymous, settings):
    def quota_hits() -> float:
        text = anonymous.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
        found = families(text).get("plotserver_limit_hits")
        samples = found.samples if found else []
        return sum(s.value for s in samples if s.name.endswith("_total") and s.labels.get("limit") == "quota")

    settings.QUOTA_TOKENS_PER_USER = 1
    before = quota_hits()
    assert as_alice.post("/api/streams/", {"name": "one"}, format="json").status_code == 201
    assert as_alice.post("/api/streams/", {"name": "two"}, format="json").status_code == 429
    assert quota_hits() == before + 1
