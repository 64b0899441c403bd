"""A stream token is shown to its owner alone, wherever in a figure it was put."""

import pytest

from core.models import Plot, StreamToken, Trace

pytestmark = pytest.mark.django_db

TOKEN = "alice-secret-token"


@pytest.fixture
def token(alice):
    return StreamToken.objects.create(owner=alice, token=TOKEN)


@pytest.mark.parametrize(
    "trace",
    [
        {"type": "scatter", "strem": {"token": TOKEN}},
        {"type": "scatter", "token": TOKEN},
        {"type": "scatter", "name": TOKEN},
        {"type": "scatter", "text": ["a", TOKEN]},
    ],
    ids=["misspelled-stream", "top-level-token", "as-a-name", "in-an-array"],
)
def test_the_api_refuses_a_token_anywhere_but_stream_token(as_alice, token, trace):
    response = as_alice.post("/api/plots/", {"figure": {"data": [trace]}}, format="json")
    assert response.status_code == 400
    assert not Plot.objects.exists()


def test_a_token_in_the_layout_is_refused(as_alice, token):
    response = as_alice.post("/api/plots/", {"figure": {"layout": {"title": {"text": TOKEN}}}}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "figure.layout.title.text"


def test_plotly_routes_keep_old_names_but_take_the_token_out(alice, token, client):
    from core.models import ApiKey

    key = ApiKey.issue(alice)
    figure = {
        "data": [{"type": "scatter", "x": [1], "strem": {"token": TOKEN}, "token": TOKEN, "oldname": 1}],
        "layout": {"titlefont": {"size": 3}},
    }
    import base64
    import json

    auth = "Basic " + base64.b64encode(f"alice:{key}".encode()).decode()
    response = client.post(
        "/v2/plots", json.dumps({"figure": figure}), content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code == 201, response.content
    trace = Plot.objects.get().traces.get()
    assert TOKEN not in str(trace.spec)
    assert trace.spec["oldname"] == 1 and trace.spec["strem"] == {}


def test_a_token_stored_before_is_never_served_to_a_viewer(alice, token, anonymous, as_bob):
    plot = Plot.objects.create(owner=alice, layout={"title": {"text": TOKEN}})
    Trace.objects.create(plot=plot, index=0, spec={"type": "scatter", "strem": {"token": TOKEN}, "text": [TOKEN]})
    for visitor in (anonymous, as_bob):
        for url in (f"/api/plots/{plot.pk}/", f"/api/plots/{plot.pk}/figure/", f"/api/plots/{plot.pk}/traces/0/"):
            response = visitor.get(url)
            assert response.status_code == 200
            assert TOKEN not in response.content.decode(), url
        assert TOKEN not in visitor.get(f"/~alice/{plot.pk}.json").content.decode()


def test_the_owner_still_sees_the_tokens_bound_to_traces(alice, token, as_alice):
    body = as_alice.post("/api/plots/", {"figure": {"data": [{"stream": {"token": TOKEN}}]}}, format="json").json()
    assert body["figure"]["data"][0]["stream"]["token"] == TOKEN


def test_a_viewer_snapshot_never_carries_a_token_stored_before_figures_were_checked(alice, token):
    from django.contrib.auth.models import AnonymousUser

    from streaming.snapshots import snapshot

    plot = Plot.objects.create(owner=alice, sharing=Plot.PUBLIC)
    # Stored directly, as figures saved before the check could be.
    Trace.objects.create(plot=plot, index=0, spec={"type": "scatter", "name": TOKEN, "x": [1]}, stream_token=token)
    for viewer in (AnonymousUser(), alice):
        message = snapshot(plot.pk, viewer, None)
        assert TOKEN not in str(message)
        assert message["figure"]["data"][0]["x"] == [1]
