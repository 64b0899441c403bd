"""Plot.objects.visible_to: the one sharing rule, and the surfaces that apply it answer alike."""

import pytest
from django.contrib.auth.models import AnonymousUser

from core.models import Plot

pytestmark = pytest.mark.django_db


@pytest.fixture
def plots(alice):
    return {
        sharing: Plot.objects.create(owner=alice, title=sharing, sharing=sharing)
        for sharing in (Plot.PUBLIC, Plot.PRIVATE, Plot.SECRET)
    }


def visible(user, share_key=None) -> set[str]:
    return set(Plot.objects.visible_to(user, share_key).values_list("title", flat=True))


def test_the_owner_sees_every_plot_of_theirs(plots, alice):
    assert visible(alice) == {"public", "private", "secret"}


def test_another_user_and_an_anonymous_visitor_see_public_plots_only(plots, bob):
    assert visible(bob) == visible(AnonymousUser()) == {"public"}


def test_a_secret_plot_is_visible_with_its_key_and_not_with_another(plots, bob):
    key = plots["secret"].share_key
    assert visible(AnonymousUser(), key) == visible(bob, key) == {"public", "secret"}
    assert visible(AnonymousUser(), "not-the-key") == {"public"}


def test_a_private_plot_stays_private_whatever_key_is_sent(plots):
    assert "private" not in visible(AnonymousUser(), plots["private"].share_key)


def test_the_page_the_api_and_plotlys_routes_agree(plots, as_bob, anonymous):
    secret = plots["secret"]
    for plot, key, shown in [(plots["private"], "", False), (secret, "", False), (secret, secret.share_key, True)]:
        query = f"?share_key={key}" if key else ""
        answers = [
            anonymous.get(f"/~alice/{plot.pk}/{query}").status_code,
            as_bob.get(f"/api/plots/{plot.pk}/{query}").status_code,
            anonymous.get(f"/apigetfile/alice/{plot.pk}{query}").status_code,
            as_bob.get(f"/v2/plots/alice:{plot.pk}/content{query}").status_code,
        ]
        assert answers == ([200] * 4 if shown else [404] * 4), (plot.sharing, key)
