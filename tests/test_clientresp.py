"""POST /clientresp, the form API of Plotly's Node client and of plotly.py before 4 (research §2.2, §5.1)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from core.models import ApiKey, Plot, StreamToken

pytestmark = pytest.mark.django_db

TOKEN = "tok1abcdef"


@pytest.fixture
def key(alice) -> str:
    StreamToken.objects.create(owner=alice, token=TOKEN)
    return ApiKey.issue(alice)


def node_body(key: str, data: object, options: dict, username: str = "alice") -> bytes:
    """Exactly as plotly@1.0.6 builds it: key=value joined by &, nothing URL-encoded."""
    pack = {
        "platform": "nodejs",
        "version": "1.0.4",
        "args": json.dumps(data, separators=(",", ":")),
        "kwargs": json.dumps(options, separators=(",", ":")),
        "un": username,
        "key": key,
        "origin": "plot",
    }
    return "&".join(f"{k}={v}" for k, v in pack.items()).encode()


def post(body: bytes, **headers) -> dict:
    response = APIClient(enforce_csrf_checks=True).generic(
        "POST", "/clientresp", body, content_type="application/x-www-form-urlencoded", **headers
    )
    data = response.json()
    assert isinstance(data["error"], str)
    return {"status": response.status_code, **data}


def test_it_reads_the_node_clients_unencoded_body(key):
    traces = [{"x": [], "y": [], "stream": {"token": TOKEN, "maxpoints": 200}}]
    answer = post(
        node_body(key, traces, {"fileopt": "overwrite", "filename": "node & stream", "layout": {"title": "a+b=100%"}})
    )
    assert answer["error"] == ""
    plot = Plot.objects.get()
    assert plot.title == "node & stream"
    assert plot.layout == {"title": {"text": "a+b=100%"}}  # the form plotly.js draws
    [trace] = plot.traces.all()
    assert (trace.spec, trace.stream_token.token, trace.maxpoints) == ({"x": [], "y": []}, TOKEN, 200)


def test_it_reads_a_url_encoded_body_from_plotly_py_before_4(key):
    form = {
        "un": "alice",
        "key": key,
        "origin": "plot",
        "platform": "python",
        "version": "3.10.0",
        "args": json.dumps([{"x": [1, 2], "y": [3, 4], "type": "scatter"}]),
        "kwargs": json.dumps({"filename": "py & 3", "fileopt": "new", "world_readable": True}),
    }
    answer = post(urlencode(form).encode())
    assert answer["error"] == ""
    plot = Plot.objects.get()
    assert plot.title == "py & 3"
    assert plot.traces.get().spec == {"x": [1, 2], "y": [3, 4], "type": "scatter"}


def test_it_answers_the_url_the_filename_and_an_absolute_stream_host(key, settings):
    settings.STREAM_PORT = 80
    answer = post(
        node_body(key, [{"x": [1], "y": [1]}], {"filename": "folder/live"}), HTTP_HOST="plots.example.com:8443"
    )
    plot = Plot.objects.get()
    assert answer == {
        "status": 200,
        "url": f"http://plots.example.com:8443/~alice/{plot.pk}",
        "message": "",
        "warning": "",
        "error": "",
        "filename": "live",
        "stream-status": "All Streams Go!",
        "stream-host": "http://plots.example.com",
    }
    assert plot.folder == "folder"


def test_the_stream_host_names_the_stream_port_or_the_configured_url(key, settings):
    settings.STREAM_PORT = 9080
    answer = post(node_body(key, [], {}), HTTP_HOST="plots.example.com:8443")
    assert answer["stream-host"] == "http://plots.example.com:9080"
    settings.STREAM_PUBLIC_URL = "http://stream.example.com"
    assert post(node_body(key, [], {}))["stream-host"] == "http://stream.example.com"


def test_a_wrong_key_is_answered_with_an_error_string(key):
    answer = post(node_body("not-the-key", [], {}))
    assert answer["status"] == 401
    assert "API key" in answer["error"]
    assert not Plot.objects.exists()


def test_a_token_that_is_not_yours_is_answered_with_an_error_string(key, bob):
    StreamToken.objects.create(owner=bob, token="bobs-token-1")
    answer = post(node_body(key, [{"stream": {"token": "bobs-token-1"}}], {}))
    assert answer["status"] == 400
    assert "bobs-token-1" in answer["error"]


def test_fileopt_new_makes_a_plot_each_time(key):
    for _ in range(2):
        post(node_body(key, [{"x": [1]}], {"filename": "same", "fileopt": "new"}))
    assert Plot.objects.filter(title="same").count() == 2


def test_fileopt_overwrite_replaces_the_figure_of_the_plot_with_that_filename(key):
    first = post(node_body(key, [{"x": [1]}, {"x": [2]}], {"filename": "same", "fileopt": "overwrite"}))
    second = post(node_body(key, [{"x": [9]}], {"filename": "same", "fileopt": "overwrite", "layout": {"title": "t"}}))
    assert second["url"] == first["url"]
    plot = Plot.objects.get()
    assert [t.spec for t in plot.traces.all()] == [{"x": [9]}]
    assert plot.layout == {"title": {"text": "t"}}


def test_fileopt_extend_appends_each_traces_arrays_to_the_same_trace(key):
    post(node_body(key, [{"x": [1], "y": [10], "name": "a"}], {"filename": "same", "fileopt": "overwrite"}))
    post(node_body(key, [{"x": [2, 3], "y": [20, 30]}, {"x": [0]}], {"filename": "same", "fileopt": "extend"}))
    plot = Plot.objects.get()
    assert [t.spec for t in plot.traces.all()] == [{"x": [1, 2, 3], "y": [10, 20, 30], "name": "a"}, {"x": [0]}]


def test_fileopt_append_adds_the_traces_and_keeps_the_streams(key):
    post(node_body(key, [{"x": [], "stream": {"token": TOKEN}}], {"filename": "same", "fileopt": "overwrite"}))
    post(node_body(key, [{"x": [5]}], {"filename": "same", "fileopt": "append"}))
    first, second = Plot.objects.get().traces.all()
    assert first.stream_token.token == TOKEN
    assert second.spec == {"x": [5]}


def test_world_readable_false_makes_a_private_plot(key):
    post(node_body(key, [{"x": [1]}], {"world_readable": False}))
    assert Plot.objects.get().sharing == Plot.PRIVATE


def test_an_unknown_fileopt_is_answered_with_an_error_string(key):
    answer = post(node_body(key, [], {"fileopt": "sideways"}))
    assert answer["status"] == 400
    assert "fileopt" in answer["error"]


def test_apigetfile_gives_the_node_client_the_figure(key):
    post(node_body(key, [{"x": [1], "y": [2], "stream": {"token": TOKEN}}], {"filename": "f"}))
    plot = Plot.objects.get()
    response = APIClient().get(f"/apigetfile/alice/{plot.pk}", HTTP_PLOTLY_USERNAME="alice", HTTP_PLOTLY_APIKEY=key)
    assert response.json()["error"] == ""
    assert response.json()["payload"]["figure"]["data"][0]["x"] == [1]


def test_under_a_host_not_allowed_the_answer_names_the_public_address_scheme_and_all(key, settings):
    settings.PUBLIC_URL, settings.STREAM_PORT, settings.STREAM_PUBLIC_URL = "https://plots.example.net", None, ""
    answer = post(node_body(key, [{"x": [1], "y": [1]}], {"filename": "board"}), HTTP_HOST="107.21.214.199")
    plot = Plot.objects.get()
    assert answer["url"] == f"https://plots.example.net/~alice/{plot.pk}"
    assert answer["stream-host"] == "https://plots.example.net"


def test_a_browsers_request_under_a_host_not_allowed_is_refused_as_everywhere(key):
    # A page that rebinds its own name to this server sends that name, and its browser says so.
    response = APIClient().generic(
        "POST",
        "/clientresp",
        node_body(key, [], {}),
        HTTP_HOST="rebound.attacker.test",
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    assert response.status_code == 400
    assert not Plot.objects.exists()


def test_over_https_a_board_speaking_plain_http_is_answered_not_redirected(key, settings):
    settings.SECURE_SSL_REDIRECT = True
    answer = post(node_body(key, [], {"filename": "board"}), HTTP_HOST="107.21.214.199")
    assert (answer["status"], answer["stream-status"]) == (200, "All Streams Go!")
