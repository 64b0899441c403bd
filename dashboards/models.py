"""Dashboards: a title, sharing like a plot's, and panels that show plots in a 12-column grid.

A dashboard shows its panels' plots to whoever may see the dashboard (read-only, live), never
through the plots' own pages or API. It may show its owner's plots and public ones: the rule is
asked again whenever a panel is read, so a plot made private by its owner stops showing in other
people's dashboards.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models, transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from core.models import Plot
from core.sharing import PRIVATE, PUBLIC, SECRET, key_after_save, new_share_key, visible_rule
from dashboards.events import announce_dashboard_changed
from dashboards.layout import PanelSpec

Visitor = AbstractBaseUser | AnonymousUser


class DashboardQuerySet(models.QuerySet):
    def visible_to(self, visitor: Visitor, share_key: str | None = None) -> DashboardQuerySet:
        """The dashboards this visitor may see: plots' sharing rule (core/sharing.py)."""
        return self.filter(visible_rule(visitor, share_key))

    def visible_or_404(self, visitor: Visitor, share_key: str | None, pk: object) -> Dashboard:
        """The dashboard `pk` if this visitor may see it; else Http404, the same for one that
        does not exist, one not shared with them, and an id that is not a number."""
        dashboard = None
        if str(pk).isdigit():
            dashboard = self.visible_to(visitor, share_key).select_related("owner").filter(pk=pk).first()
        if dashboard is None:
            raise Http404(Dashboard.NOT_VISIBLE)
        return dashboard


class Dashboard(models.Model):
    PUBLIC, PRIVATE, SECRET = PUBLIC, PRIVATE, SECRET
    NOT_VISIBLE = "No such dashboard, or it is not shared with you."

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dashboards")
    title = models.CharField(max_length=200, blank=True)
    sharing = models.CharField(max_length=7, choices=Plot.SHARING_CHOICES, default=PRIVATE)
    share_key = models.CharField(max_length=43, default=secrets.token_urlsafe, editable=False)
    folder = models.CharField(
        max_length=255, blank=True, help_text="Where Plotly's clients filed it: 'a/b' for filename 'a/b/title'."
    )
    plotly_content = models.JSONField(
        null=True,
        blank=True,
        help_text="Plotly's dashboard content as its client uploaded it (its panels come from it).",
    )
    created = models.DateTimeField(default=timezone.now)
    updated = models.DateTimeField(auto_now=True)

    objects = DashboardQuerySet.as_manager()

    class Meta:
        ordering = ["-updated"]

    def __str__(self) -> str:
        return self.title or f"Untitled dashboard #{self.pk}"

    @classmethod
    def from_db(cls, db, field_names, values):
        dashboard = super().from_db(db, field_names, values)
        if "sharing" in dashboard.__dict__:
            dashboard._stored_sharing = dashboard.sharing
        return dashboard

    def save(self, *args, **kwargs) -> None:
        """A fresh share key whenever it becomes secret (core/sharing.py); when who may see it
        changes, its open sockets are told (they read their panels again, through the rule)."""
        stored = getattr(self, "_stored_sharing", None)
        key = key_after_save(self.sharing, stored, self.share_key)
        if key != self.share_key:
            self.share_key = key
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "share_key"}
        with transaction.atomic():
            super().save(*args, **kwargs)
            if stored is not None and stored != self.sharing:
                self.tell_viewers()
        self._stored_sharing = self.sharing

    def rotate_share_key(self) -> str:
        """A new share key: the old link stops working at once, for open sockets too."""
        with transaction.atomic():
            self.share_key = new_share_key()
            self.save(update_fields=["share_key", "updated"])
            self.tell_viewers()
        return self.share_key

    def remove(self) -> None:
        """Delete this dashboard (its panels with it; the plots stay): its sockets are told."""
        with transaction.atomic():
            self.tell_viewers()
            self.delete()

    def set_panels(self, panels: Iterable[PanelSpec]) -> None:
        """Replace the panels with `panels` (placed: dashboards/layout.py), the one way. Open
        sockets of this dashboard are told when a plot leaves it (its panel closes there)."""
        panels = list(panels)
        with transaction.atomic():
            before = set(self.panels.values_list("plot_id", flat=True))
            self.panels.all().delete()
            Panel.objects.bulk_create(
                Panel(dashboard=self, plot_id=p.plot, x=p.x, y=p.y, w=p.w, h=p.h, title=p.title, order=order)
                for order, p in enumerate(panels)
            )
            Dashboard.objects.filter(pk=self.pk).update(updated=timezone.now())
            if before - {p.plot for p in panels}:
                self.tell_viewers()

    def tell_viewers(self) -> None:
        """Once the transaction commits, this dashboard's open sockets (and no other viewer of
        its plots) ask the rule again, without reading any plot again: a visitor who may no
        longer see the dashboard, or a panel whose plot it no longer shows, is closed out
        (docs/dashboards.md)."""
        transaction.on_commit(partial(announce_dashboard_changed, self.pk))

    def shows(self, plot_id: int) -> bool:
        """Whether this dashboard shows plot `plot_id` now: a panel of it shows the plot, and
        the plot is one its owner may see (their own, or public). Who may see the dashboard is
        the caller's question (Dashboard.objects.visible_to)."""
        return (
            self.panels.filter(plot_id=plot_id).exists()
            and Plot.objects.visible_to(self.owner).filter(pk=plot_id).exists()
        )

    def get_absolute_url(self) -> str:
        return reverse("dashboard-detail", kwargs={"username": self.owner.get_username(), "pk": self.pk})

    def embed_path(self) -> str:
        return reverse("dashboard-embed", kwargs={"username": self.owner.get_username(), "pk": self.pk})

    def link_query(self) -> str:
        """What a link to this dashboard carries: its share key when it is secret."""
        return f"?share_key={self.share_key}" if self.sharing == SECRET else ""


def plots_not_allowed(owner: Visitor, plot_ids: Iterable[int]) -> set[int]:
    """Of `plot_ids`, those a dashboard of `owner` may not show: plots that do not exist, and
    other people's plots that are not public (never another user's private or secret plot)."""
    wanted = set(plot_ids)
    allowed = set(Plot.objects.visible_to(owner).filter(pk__in=wanted).values_list("pk", flat=True))
    return wanted - allowed


class Panel(models.Model):
    """One plot at a place of its dashboard's grid (docs/dashboards.md, "Panels")."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="panels")
    # Deleting a plot removes its panels; deleting a dashboard leaves its plots.
    plot = models.ForeignKey(Plot, on_delete=models.CASCADE, related_name="dashboard_panels")
    x = models.PositiveSmallIntegerField()
    y = models.PositiveSmallIntegerField()
    w = models.PositiveSmallIntegerField()
    h = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dashboard", "order"]

    def __str__(self) -> str:
        return f"{self.dashboard}: {self.title or self.plot}"
