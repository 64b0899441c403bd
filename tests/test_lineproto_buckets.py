"""A plot's bucket name (PUT /api/plots/<id>/bucket/): set, read and removed by its owner only,
one of a kind among the owner's plots, never a number."""

from __future__ import annotations

import pytest

from core.models import Plot

pytestmark = pytest.mark.django_db


def url(plot) -> str:
    return f"/api/plots/{plot.pk}/bucket/"


def test_the_owner_names_a_plots_bucket_reads_it_and_removes_it(as_alice, alices_plot):
    assert as_alice.get(url(alices_plot)).json() == {"plot": alices_plot.pk, "name": None}
    answer = as_alice.put(url(alices_plot), {"name": "reactor-2"}, format="json")
    assert (answer.status_code, answer.json()) == (200, {"plot": alices_plot.pk, "name": "reactor-2"})
    assert as_alice.get(url(alices_plot)).json()["name"] == "reactor-2"
    assert as_alice.put(url(alices_plot), {"name": "reactor.two"}, format="json").json()["name"] == "reactor.two"
    assert as_alice.delete(url(alices_plot)).status_code == 204
    assert as_alice.get(url(alices_plot)).json()["name"] is None


def test_a_name_is_one_of_a_kind_among_the_owners_plots_but_not_across_owners(
    as_alice, as_bob, alice, bob, alices_plot
):
    other = Plot.objects.create(owner=alice)
    bobs = Plot.objects.create(owner=bob)
    assert as_alice.put(url(alices_plot), {"name": "lab"}, format="json").status_code == 200
    taken = as_alice.put(url(other), {"name": "lab"}, format="json")
    assert taken.status_code == 400
    assert f"already names your plot {alices_plot.pk}" in taken.json()["message"]
    assert as_bob.put(url(bobs), {"name": "lab"}, format="json").status_code == 200


@pytest.mark.parametrize("name", ["123", "", "with space", "a/b", "x" * 65, 7])
def test_a_name_that_is_a_number_or_has_other_characters_is_refused(as_alice, alices_plot, name):
    answer = as_alice.put(url(alices_plot), {"name": name}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "name"


def test_only_the_owner_names_a_bucket(as_bob, anonymous, alices_plot):
    assert as_bob.put(url(alices_plot), {"name": "mine"}, format="json").status_code == 403
    alices_plot.sharing = Plot.PRIVATE
    alices_plot.save()
    assert as_bob.get(url(alices_plot)).status_code == 404
    assert anonymous.get(url(alices_plot)).status_code in (401, 403)


def test_the_name_goes_with_its_plot(as_alice, alices_plot):
    from lineproto.models import Bucket

    as_alice.put(url(alices_plot), {"name": "gone"}, format="json")
    alices_plot.remove()
    assert not Bucket.objects.exists()
