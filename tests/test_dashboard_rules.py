"""Dashboards' rules in process: who sees one, which plots it may show, what deleting does."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from core.models import Plot
from dashboards.layout import PanelSpec
from dashboards.models import Dashboard, Panel, plots_not_allowed
from dashboards.socket import grants, open_dashboard

pytestmark = pytest.mark.django_db


def dashboard_of(owner, *plots, sharing=Dashboard.PRIVATE) -> Dashboard:
    dashboard = Dashboard.objects.create(owner=owner, sharing=sharing)
    dashboard.set_panels(PanelSpec(p.pk, 0, 4 * i, 6, 4) for i, p in enumerate(plots))
    return dashboard


def test_sharing_follows_the_plots_rule(alice, bob):
    secret = Dashboard.objects.create(owner=alice, sharing=Dashboard.SECRET)
    public = Dashboard.objects.create(owner=alice, sharing=Dashboard.PUBLIC)
    private = Dashboard.objects.create(owner=alice)
    anyone = AnonymousUser()
    assert set(Dashboard.objects.visible_to(alice)) == {secret, public, private}
    assert set(Dashboard.objects.visible_to(bob)) == {public}
    assert set(Dashboard.objects.visible_to(anyone, secret.share_key)) == {public, secret}
    with pytest.raises(Http404):
        Dashboard.objects.visible_or_404(anyone, "wrong", secret.pk)


def test_becoming_secret_again_gives_a_new_key_and_rotating_makes_another(alice):
    dashboard = Dashboard.objects.create(owner=alice, sharing=Dashboard.SECRET)
    first = dashboard.share_key
    dashboard.sharing = Dashboard.PRIVATE
    dashboard.save()
    dashboard.sharing = Dashboard.SECRET
    dashboard.save()
    assert dashboard.share_key != first
    second = dashboard.share_key
    assert dashboard.rotate_share_key() != second


def test_a_dashboard_may_show_its_owners_plots_and_public_ones_never_another_users_private_plot(alice, bob):
    own_private = Plot.objects.create(owner=alice, sharing=Plot.PRIVATE)
    bobs_public = Plot.objects.create(owner=bob, sharing=Plot.PUBLIC)
    bobs_private = Plot.objects.create(owner=bob, sharing=Plot.PRIVATE)
    bobs_secret = Plot.objects.create(owner=bob, sharing=Plot.SECRET)
    refused = plots_not_allowed(alice, [own_private.pk, bobs_public.pk, bobs_private.pk, bobs_secret.pk, 999999])
    assert refused == {bobs_private.pk, bobs_secret.pk, 999999}


def test_a_shared_dashboard_grants_its_plots_through_itself_alone(alice, bob):
    private_plot = Plot.objects.create(owner=alice, sharing=Plot.PRIVATE)
    dashboard = dashboard_of(alice, private_plot, sharing=Dashboard.SECRET)
    anyone = AnonymousUser()
    assert grants(dashboard.pk, anyone, dashboard.share_key, private_plot.pk)
    assert not grants(dashboard.pk, anyone, None, private_plot.pk)
    assert not grants(dashboard.pk, bob, "wrong", private_plot.pk)
    assert open_dashboard(dashboard.pk, anyone, dashboard.share_key) == (alice, [private_plot.pk])
    assert open_dashboard(dashboard.pk, anyone, None) is None
    # The plot itself stays private.
    assert not Plot.objects.visible_to(anyone, dashboard.share_key).filter(pk=private_plot.pk).exists()


def test_a_plot_its_owner_makes_private_stops_showing_in_other_peoples_dashboards(alice, bob):
    bobs_plot = Plot.objects.create(owner=bob, sharing=Plot.PUBLIC)
    dashboard = dashboard_of(alice, bobs_plot, sharing=Dashboard.PUBLIC)
    assert grants(dashboard.pk, AnonymousUser(), None, bobs_plot.pk)
    bobs_plot.sharing = Plot.PRIVATE
    bobs_plot.save()
    assert not grants(dashboard.pk, AnonymousUser(), None, bobs_plot.pk)


def test_a_plot_not_on_the_dashboard_is_not_granted(alice):
    shown = Plot.objects.create(owner=alice, sharing=Plot.PRIVATE)
    other = Plot.objects.create(owner=alice, sharing=Plot.PRIVATE)
    dashboard = dashboard_of(alice, shown, sharing=Dashboard.PUBLIC)
    assert not grants(dashboard.pk, AnonymousUser(), None, other.pk)


def test_deleting_a_dashboard_leaves_its_plots_and_deleting_a_plot_removes_its_panels(alice):
    kept, removed = Plot.objects.create(owner=alice), Plot.objects.create(owner=alice)
    first = dashboard_of(alice, kept, removed)
    second = dashboard_of(alice, kept)
    removed.remove()
    assert list(first.panels.values_list("plot_id", flat=True)) == [kept.pk]
    first.remove()
    assert Plot.objects.filter(pk=kept.pk).exists()
    assert Panel.objects.filter(dashboard=second).count() == 1


def test_setting_panels_replaces_them_in_order(alice):
    a, b = Plot.objects.create(owner=alice), Plot.objects.create(owner=alice)
    dashboard = dashboard_of(alice, a, b)
    dashboard.set_panels([PanelSpec(b.pk, 0, 0, 12, 2, "b only")])
    assert [(p.plot_id, p.w, p.title) for p in dashboard.panels.all()] == [(b.pk, 12, "b only")]
