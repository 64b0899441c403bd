"""/api/plots/: creating plots that bind stream tokens, reading, changing, sharing rules."""

import pytest

from core.models import Plot, StreamToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(alice):
    return StreamToken.objects.create(owner=alice, token="alice-stream-1")


def figure(*tokens, maxpoints=200):
    return {
        "data": [{"type": "scatter", "x": [], "y": [], "stream": {"token": t, "maxpoints": maxpoints}} for t in tokens],
        "layout": {"title": {"text": "t"}},
    }


def create(client, **body):
    body.setdefault("title", "live")
    return client.post("/api/plots/", body, format="json")


def test_it_creates_a_plot_with_traces_bound_to_tokens(as_alice, token):
    response = create(as_alice, figure=figure(token.token))
    assert response.status_code == 201
    body = response.json()
    assert body["id"] and body["owner"] == "alice"
    assert body["web_url"] == f"http://testserver/~alice/{body['id']}/"
    assert body["embed_url"] == f"http://testserver/~alice/{body['id']}.embed"
    assert body["figure"]["data"][0]["stream"] == {"token": "alice-stream-1", "maxpoints": 200}
    trace = Plot.objects.get(pk=body["id"]).traces.get()
    assert (trace.stream_token, trace.maxpoints, trace.spec) == (token, 200, {"type": "scatter", "x": [], "y": []})


def test_maxpoints_defaults_to_500(as_alice, token):
    body = create(as_alice, figure={"data": [{"stream": {"token": token.token}}]}).json()
    assert body["figure"]["data"][0]["stream"]["maxpoints"] == 500


def test_an_unknown_token_is_a_400_naming_the_trace_and_the_token(as_alice, token):
    response = create(as_alice, figure=figure(token.token, "no-such-token"))
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "figure.data[1].stream.token"
    assert "'no-such-token'" in error["message"]


def test_another_users_token_cannot_be_bound(as_bob, token):
    response = create(as_bob, figure=figure(token.token))
    assert response.status_code == 400
    assert "alice-stream-1" in response.json()["message"]


def test_a_revoked_token_cannot_be_bound(as_alice, token):
    token.revoke()
    assert create(as_alice, figure=figure(token.token)).status_code == 400


@pytest.mark.parametrize("maxpoints", [-1, 10001, "many"])
def test_maxpoints_outside_0_to_10000_is_a_400(as_alice, token, maxpoints):
    response = create(as_alice, figure=figure(token.token, maxpoints=maxpoints))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "figure.data[0].stream.maxpoints"


def test_a_figure_that_is_not_an_object_is_a_400(as_alice):
    assert create(as_alice, figure=[1, 2]).status_code == 400
    assert create(as_alice, figure={"data": "x"}).status_code == 400


def test_secret_plots_return_their_share_key(as_alice):
    body = create(as_alice, sharing="secret").json()
    plot = Plot.objects.get(pk=body["id"])
    assert body["share_key"] == plot.share_key
    assert body["web_url"].endswith(f"/~alice/{plot.pk}/?share_key={plot.share_key}")


def test_the_owner_patches_title_and_sharing(as_alice):
    plot_id = create(as_alice).json()["id"]
    response = as_alice.patch(f"/api/plots/{plot_id}/", {"title": "new", "sharing": "private"}, format="json")
    assert response.status_code == 200
    assert Plot.objects.filter(pk=plot_id, title="new", sharing="private").exists()


def test_another_user_gets_404_for_a_private_plot(as_alice, as_bob):
    plot_id = create(as_alice, sharing="private").json()["id"]
    assert as_bob.get(f"/api/plots/{plot_id}/").status_code == 404
    assert as_bob.patch(f"/api/plots/{plot_id}/", {"title": "x"}, format="json").status_code == 404
    assert as_bob.delete(f"/api/plots/{plot_id}/").status_code == 404


def test_another_user_reads_but_cannot_change_a_public_plot(as_alice, as_bob):
    plot_id = create(as_alice).json()["id"]
    assert as_bob.get(f"/api/plots/{plot_id}/").status_code == 200
    assert as_bob.patch(f"/api/plots/{plot_id}/", {"title": "x"}, format="json").status_code == 403
    assert as_bob.delete(f"/api/plots/{plot_id}/").status_code == 403


def test_an_anonymous_visitor_cannot_list_or_create(anonymous):
    assert anonymous.get("/api/plots/").status_code == 401
    assert create(anonymous).status_code == 401


def test_an_anonymous_visitor_reads_a_public_plot_without_its_tokens(as_alice, anonymous, token):
    plot_id = create(as_alice, figure=figure(token.token)).json()["id"]
    body = anonymous.get(f"/api/plots/{plot_id}/").json()
    assert "stream" not in body["figure"]["data"][0]


def test_an_anonymous_visitor_gets_404_for_private_and_keyless_secret_plots(as_alice, anonymous):
    private_id = create(as_alice, sharing="private").json()["id"]
    secret = create(as_alice, sharing="secret").json()
    assert anonymous.get(f"/api/plots/{private_id}/figure/").status_code == 404
    assert anonymous.get(f"/api/plots/{secret['id']}/figure/").status_code == 404
    assert anonymous.get(f"/api/plots/{secret['id']}/figure/?share_key=wrong").status_code == 404
    assert anonymous.get(f"/api/plots/{secret['id']}/figure/?share_key={secret['share_key']}").status_code == 200


def test_the_figure_endpoint_strips_stream_keys(as_alice, token):
    plot_id = create(as_alice, figure=figure(token.token)).json()["id"]
    assert as_alice.get(f"/api/plots/{plot_id}/figure/").json() == {
        "data": [{"type": "scatter", "x": [], "y": []}],
        "layout": {"title": {"text": "t"}},
    }


def test_the_list_holds_only_your_plots(as_alice, as_bob):
    create(as_alice, title="mine")
    create(as_bob, title="bobs")
    assert [p["title"] for p in as_alice.get("/api/plots/").json()["results"]] == ["mine"]


def test_the_owner_deletes_a_plot(as_alice):
    plot_id = create(as_alice).json()["id"]
    assert as_alice.delete(f"/api/plots/{plot_id}/").status_code == 204
    assert not Plot.objects.filter(pk=plot_id).exists()


@pytest.mark.django_db
def test_a_plot_id_that_is_not_a_number_is_a_json_404(anonymous, as_alice):
    for client in (anonymous, as_alice):
        for pk in ("abc", "%C3%A0", "1.5"):
            response = client.get(f"/api/plots/{pk}/")
            assert response.status_code == 404
            assert response.json()["message"] in ("No such plot, or it is not shared with you.", "Not found.")
