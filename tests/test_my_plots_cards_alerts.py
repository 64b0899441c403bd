"""My plots' cards say how many alerts each plot has and whether one fires, and cards.json
keeps it current; the page's queries do not grow with its plots. Nobody but the owner sees a
plot's alerts on a card (Home shows other users' public plots without them)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from alerts.models import Alert
from core.models import Plot, StreamToken, Trace

pytestmark = pytest.mark.django_db


def a_streamed_plot_with_alerts(owner, title: str, firing: bool = False) -> Plot:
    """A public plot of one streamed trace with two points, an alert that is ok and one that
    fires if asked."""
    plot = Plot.objects.create(owner=owner, sharing=Plot.PUBLIC, title=title)
    token = StreamToken.objects.create(owner=owner)
    Trace.objects.create(plot=plot, index=0, spec={"x": [1, 2], "y": [3, 4]}, stream_token=token, maxpoints=100)
    Alert.objects.create(owner=owner, plot=plot, trace=0, condition="silence", seconds=30)
    Alert.objects.create(
        owner=owner, plot=plot, trace=0, condition="above", threshold=80, state="firing" if firing else "ok"
    )
    return plot


def queries_of(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries.captured_queries)


def test_the_pages_queries_do_not_grow_with_its_plots(client, alice):
    client.force_login(alice)
    a_streamed_plot_with_alerts(alice, "first")
    one = queries_of(client, "/plots/")
    for i in range(6):
        a_streamed_plot_with_alerts(alice, f"more {i}", firing=i % 2 == 0)
    assert queries_of(client, "/plots/") == one
    ids = ",".join(str(p.pk) for p in Plot.objects.all())
    assert queries_of(client, f"/plots/cards.json?ids={ids}") <= one


def test_a_card_says_how_many_alerts_and_how_many_fire(client, alice):
    client.force_login(alice)
    calm = a_streamed_plot_with_alerts(alice, "calm")
    loud = a_streamed_plot_with_alerts(alice, "loud", firing=True)
    Plot.objects.create(owner=alice, title="none")
    html = client.get("/plots/").content.decode()
    assert '<span class="card-alerts badge">2 alerts</span>' in html
    assert '<span class="card-alerts badge firing">2 alerts · 1 firing</span>' in html
    assert '<span class="card-alerts badge" hidden>' in html  # the plot without alerts
    cards = client.get(f"/plots/cards.json?ids={calm.pk},{loud.pk}").json()["plots"]
    assert cards[str(calm.pk)]["alerts"] == {"count": 2, "firing": 0}
    assert cards[str(loud.pk)]["alerts"] == {"count": 2, "firing": 1}
    assert cards[str(loud.pk)]["spark"]  # the rest of the card is still there


def test_another_user_sees_the_plot_but_not_its_alerts(client, alice, bob):
    plot = a_streamed_plot_with_alerts(alice, "alices", firing=True)
    client.force_login(bob)
    html = client.get("/").content.decode()
    assert "alices" in html and "card-alerts" not in html
    card = client.get(f"/plots/cards.json?ids={plot.pk}").json()["plots"][str(plot.pk)]
    assert "alerts" not in card and card["streams"] == 1
