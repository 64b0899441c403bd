"""REST lists come in pages (`?page=`, API_PAGE_SIZE each), so no list answer grows without
bound (finding 11). Plotly's routes keep the shapes Plotly's clients read."""

from __future__ import annotations

import pytest

from core.models import Plot, StreamToken, Trace

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_size(settings) -> int:
    settings.API_PAGE_SIZE = 3
    return 3


def test_plots_come_three_to_a_page_with_links_to_the_next(as_alice, alice, page_size):
    for n in range(7):
        Plot.objects.create(owner=alice, title=f"p{n}")
    first = as_alice.get("/api/plots/").json()
    assert first["count"] == 7 and len(first["results"]) == page_size
    assert first["previous"] is None and first["next"].endswith("/api/plots/?page=2")
    last = as_alice.get("/api/plots/?page=3").json()
    assert len(last["results"]) == 1 and last["next"] is None
    titles = {p["title"] for n in (1, 2, 3) for p in as_alice.get(f"/api/plots/?page={n}").json()["results"]}
    assert titles == {f"p{n}" for n in range(7)}


def test_a_page_past_the_end_is_404_with_a_message(as_alice, page_size):
    response = as_alice.get("/api/plots/?page=9")
    assert response.status_code == 404
    assert response.json()["message"]


def test_page_size_may_ask_for_fewer_never_for_more(as_alice, alice, page_size):
    for n in range(5):
        StreamToken.objects.create(owner=alice, name=f"t{n}")
    assert len(as_alice.get("/api/streams/?page_size=2").json()["results"]) == 2
    assert len(as_alice.get("/api/streams/?page_size=1000").json()["results"]) == page_size


def test_traces_are_paged_too(as_alice, alice, page_size):
    plot = Plot.objects.create(owner=alice)
    Trace.objects.bulk_create(Trace(plot=plot, index=i) for i in range(4))
    body = as_alice.get(f"/api/plots/{plot.pk}/traces/").json()
    assert body["count"] == 4 and [t["index"] for t in body["results"]] == [0, 1, 2]


def test_a_real_server_pages_a_users_plots(start_server):
    from harness.live_server import new_user

    server = start_server(name="paged", API_PAGE_SIZE="2")
    user = new_user(server.env, server.url)
    made = {user.make_plot([], title=f"plot {n}")["id"] for n in range(5)}
    seen, path = set(), "/api/plots/"
    while path:
        page = user.ok("GET", path)
        assert len(page["results"]) <= 2
        seen |= {p["id"] for p in page["results"]}
        path = page["next"] and page["next"].removeprefix(server.url)
    assert seen == made
