"""A deeply nested JSON body is a 400 with a message on every route, never a 500 (finding 1).

One parser (web/parsers.py) bounds the nesting of every JSON body: the REST API's, Plotly's
v2 routes', /clientresp's form fields and the pages' pasted JSON.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from core.models import ApiKey, Plot
from web.parsers import load_json, nesting_depth

pytestmark = pytest.mark.django_db

# Deep enough to break any recursive walk (and Python's own JSON parser).
VERY_DEEP = "[" * 100_000 + "]" * 100_000


def nested(depth: int) -> str:
    """A figure whose first trace carries `x` nested `depth` arrays deep (the figure adds 4)."""
    x = "[" * depth + "1" + "]" * depth
    return '{"title": "deep", "figure": {"data": [{"type": "scatter", "x": ' + x + "}]}}"


@pytest.fixture
def key(alice) -> str:
    return ApiKey.issue(alice)


def basic(username: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{key}".encode()).decode()


def test_the_parser_refuses_json_deeper_than_the_setting(settings):
    settings.API_MAX_JSON_DEPTH = 8
    assert load_json("[" * 8 + "]" * 8) == [[[[[[[[]]]]]]]]
    with pytest.raises(ValueError, match="API_MAX_JSON_DEPTH"):
        load_json("[" * 9 + "]" * 9)
    with pytest.raises(ValueError, match="API_MAX_JSON_DEPTH"):
        load_json(VERY_DEEP)


def test_depth_is_counted_without_recursion():
    value: list = []
    for _ in range(50_000):
        value = [value]
    assert nesting_depth(value, stop_above=10) == 11
    assert nesting_depth({"a": [1, {"b": 2}], "c": 3}, stop_above=10) == 3
    assert nesting_depth(7, stop_above=10) == 0


@pytest.mark.parametrize("body", [VERY_DEEP, nested(100), nested(70_000)])
def test_rest_answers_a_deep_body_with_a_json_400(as_alice, body):
    response = as_alice.generic("POST", "/api/plots/", body, content_type="application/json")
    assert response.status_code == 400
    assert "API_MAX_JSON_DEPTH" in response.json()["message"]
    assert not Plot.objects.exists()


def test_a_figure_within_the_depth_limit_is_accepted(as_alice):
    response = as_alice.generic("POST", "/api/plots/", nested(20), content_type="application/json")
    assert response.status_code == 201


def test_trace_edits_refuse_a_deep_spec(as_alice, alice):
    plot = Plot.objects.create(owner=alice)
    body = '{"spec": {"x": ' + "[" * 5000 + "]" * 5000 + "}}"
    response = as_alice.generic("POST", f"/api/plots/{plot.pk}/traces/", body, content_type="application/json")
    assert response.status_code == 400
    assert "API_MAX_JSON_DEPTH" in response.json()["message"]


@pytest.mark.parametrize("path", ["/v2/plots", "/v2/grids", "/v2/folders"])
def test_plotlys_v2_routes_answer_a_deep_body_with_an_errors_message(alice, key, path):
    response = APIClient().generic(
        "POST", path, VERY_DEEP, content_type="application/json", HTTP_AUTHORIZATION=basic("alice", key)
    )
    assert response.status_code == 400
    assert "API_MAX_JSON_DEPTH" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("field", ["args", "kwargs"])
def test_clientresp_answers_a_deep_field_in_its_error(alice, key, field):
    form = {"un": "alice", "key": key, "args": "[]", "kwargs": "{}", field: VERY_DEEP}
    response = APIClient().generic(
        "POST", "/clientresp", urlencode(form), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "API_MAX_JSON_DEPTH" in response.json()["error"]


def test_the_pasted_figure_form_shows_the_depth_error(client, alice):
    client.force_login(alice)
    response = client.post(
        "/plots/new/",
        {"kind": "json", "json-title": "deep", "json-sharing": "public", "json-figure": '{"data": ' + VERY_DEEP + "}"},
    )
    assert response.status_code == 200
    assert "API_MAX_JSON_DEPTH" in response.content.decode()
    assert not Plot.objects.exists()


def test_a_real_server_answers_a_deep_body_with_json_and_keeps_serving(server, producer):
    for payload in (VERY_DEEP, nested(100)):
        request = urllib.request.Request(f"{server.url}/api/plots/", data=payload.encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", basic(producer.username, producer.key))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 400
        assert refused.value.headers["Content-Type"] == "application/json"
        assert "API_MAX_JSON_DEPTH" in json.loads(refused.value.read())["message"]
    assert producer.ok("GET", "/api/plots/")["count"] == 0
    assert producer.make_plot([])["id"]


def test_a_wrong_key_is_refused_before_its_body_is_parsed(alice, key):
    response = APIClient().generic(
        "POST", "/api/plots/", VERY_DEEP, content_type="application/json", HTTP_AUTHORIZATION=basic("alice", "wrong")
    )
    assert response.status_code == 401
