"""Dashboards in the admin: their panels inline; deleting goes through Dashboard.remove."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from dashboards.models import Dashboard, Panel


class PanelInline(admin.TabularInline):
    model = Panel
    raw_id_fields = ["plot"]
    extra = 0
    fields = ["plot", "x", "y", "w", "h", "title", "order"]


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "sharing", "panel_count", "updated", "view"]
    list_filter = ["sharing", "updated"]
    search_fields = ["title", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    inlines = [PanelInline]

    def save_formset(self, request, form, formset, change):
        super().save_formset(request, form, formset, change)
        # Panels edited here: open sockets of the dashboard ask the rule again for every panel
        # they show, so a removed panel closes there too.
        form.instance.tell_viewers()

    def delete_model(self, request, obj):
        obj.remove()

    def delete_queryset(self, request, queryset):
        for dashboard in queryset:
            dashboard.remove()

    @admin.display(description="panels")
    def panel_count(self, dashboard: Dashboard) -> int:
        return dashboard.panels.count()

    @admin.display(description="")
    def view(self, dashboard: Dashboard) -> str:
        return format_html('<a href="{}">view</a>', dashboard.get_absolute_url() + dashboard.link_query())
