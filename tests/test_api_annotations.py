"""/api/plots/<id>/annotations/ against a real server: the owner writes, whoever may see the plot
reads (a secret plot with its share key), the figure viewers read draws them, and what the rules
refuse is a 400 naming the field (docs/annotations.md)."""

from __future__ import annotations

import pytest

from harness.live_server import Api, new_user


@pytest.fixture
def other(integration_db, server) -> Api:
    """Another user of the live server, who owns nothing of the producer's."""
    return new_user(integration_db.env, server.url)


def annotations_of(plot: dict, query: str = "") -> str:
    return f"/api/plots/{plot['id']}/annotations/{query}"


def test_the_owner_creates_lists_changes_and_deletes_an_annotation(producer):
    plot = producer.make_plot([producer.make_token()])
    status, made = producer.request("POST", annotations_of(plot), {"x": 3, "text": "valve open"})
    assert status == 201, made
    assert {k: made[k] for k in ("x", "x_end", "text", "trace", "color", "stream")} == {
        "x": 3,
        "x_end": None,
        "text": "valve open",
        "trace": None,
        "color": "",
        "stream": None,
    }
    producer.ok("POST", annotations_of(plot), {"x": 4, "x_end": 6, "text": "run", "trace": 0, "color": "green"})
    assert [a["text"] for a in producer.ok("GET", annotations_of(plot))] == ["valve open", "run"]

    changed = producer.ok("PATCH", annotations_of(plot, f"{made['id']}/"), {"text": "valve closed"})
    assert (changed["x"], changed["text"]) == (3, "valve closed")
    assert producer.request("DELETE", annotations_of(plot, f"{made['id']}/"))[0] == 204
    assert [a["text"] for a in producer.ok("GET", annotations_of(plot))] == ["run"]
    assert producer.request("GET", annotations_of(plot, f"{made['id']}/"))[0] == 404


def test_the_figure_viewers_read_draws_them_and_the_owners_layout_keeps_none(producer, visitor):
    plot = producer.make_plot([producer.make_token()])
    producer.ok("POST", annotations_of(plot), {"x": 3, "text": "valve open"})
    figure = visitor.figure(plot["id"])
    assert [a["text"] for a in figure["layout"]["annotations"]] == ["valve open"]
    assert figure["layout"]["shapes"][0]["x0"] == 3
    stored = producer.ok("GET", f"/api/plots/{plot['id']}/")["figure"]["layout"]
    assert "annotations" not in stored and "shapes" not in stored


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"x": 1, "text": "x" * 501}, "text", "ANNOTATION_TEXT_MAX_CHARS"),
        ({"text": "where?"}, "x", "required"),
        ({"x": 5, "x_end": 1, "text": "backwards"}, "x_end", "ends at or after"),
        ({"x": 1, "text": "t", "trace": 3}, "trace", "no trace 3"),
        ({"x": 1, "text": "t", "color": "not-a-colour"}, "color", "not a colour"),
    ],
)
def test_what_the_rules_refuse_is_a_400_naming_the_field(producer, fields, field, says):
    plot = producer.make_plot([producer.make_token()])
    status, body = producer.request("POST", annotations_of(plot), fields)
    assert status == 400
    assert body["errors"][0]["field"] == field and says in body["errors"][0]["message"], body
    assert producer.ok("GET", annotations_of(plot)) == []


def test_the_per_plot_bound_is_a_400(start_server, integration_db):
    server = start_server(name="annotation-bound", ANNOTATIONS_PER_PLOT="2")
    owner = new_user(integration_db.env, server.url)
    plot = owner.make_plot([owner.make_token()])
    for x in (1, 2):
        owner.ok("POST", annotations_of(plot), {"x": x, "text": "fits"})
    status, body = owner.request("POST", annotations_of(plot), {"x": 3, "text": "one too many"})
    assert status == 400 and "ANNOTATIONS_PER_PLOT" in body["message"], body


def test_who_may_read_and_write(producer, other, visitor):
    plots = {
        sharing: producer.make_plot([producer.make_token()], sharing=sharing)
        for sharing in ("public", "private", "secret")
    }
    ids = {
        sharing: producer.ok("POST", annotations_of(plot), {"x": 1, "text": sharing})["id"]
        for sharing, plot in plots.items()
    }
    key = f"?share_key={plots['secret']['share_key']}"
    reads = {
        (who, sharing, query): api.request("GET", annotations_of(plots[sharing], query))[0]
        for who, api in (("owner", producer), ("other", other), ("anonymous", visitor))
        for sharing in plots
        for query in ("", key)
        if query == "" or sharing == "secret"
    }
    assert reads == {
        ("owner", "public", ""): 200,
        ("owner", "private", ""): 200,
        ("owner", "secret", ""): 200,
        ("owner", "secret", key): 200,
        ("other", "public", ""): 200,
        ("other", "private", ""): 404,
        ("other", "secret", ""): 404,
        ("other", "secret", key): 200,
        ("anonymous", "public", ""): 200,
        ("anonymous", "private", ""): 404,
        ("anonymous", "secret", ""): 404,
        ("anonymous", "secret", key): 200,
    }
    for sharing, plot in plots.items():
        query = key if sharing == "secret" else ""
        one = annotations_of(plot, f"{ids[sharing]}/{query}")
        # Another user: 403 where they may see the plot, 404 where they may not; anonymous: 401.
        seen = sharing != "private"
        assert other.request("POST", annotations_of(plot, query), {"x": 2, "text": "no"})[0] == (403 if seen else 404)
        assert other.request("PATCH", one, {"text": "no"})[0] == (403 if seen else 404)
        assert other.request("DELETE", one)[0] == (403 if seen else 404)
        assert visitor.request("POST", annotations_of(plot, query), {"x": 2, "text": "no"})[0] == 401
        assert visitor.request("DELETE", one)[0] == 401
        assert [a["text"] for a in producer.ok("GET", annotations_of(plot))] == [sharing]
