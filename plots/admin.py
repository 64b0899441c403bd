from django.contrib import admin

from plots.models import ApiKey, Grid, Plot, StreamToken, Trace
from streaming.events import announce_plot_changed


class TraceInline(admin.StackedInline):
    model = Trace
    extra = 0
    raw_id_fields = ["stream_token"]


@admin.register(Plot)
class PlotAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "folder", "owner", "sharing", "updated"]
    list_filter = ["sharing"]
    search_fields = ["title", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    inlines = [TraceInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        announce_plot_changed(form.instance.pk)


@admin.register(StreamToken)
class StreamTokenAdmin(admin.ModelAdmin):
    list_display = ["__str__", "owner", "connected", "last_write_at", "accepted", "rejected", "takeovers", "revoked"]
    list_filter = ["connected", ("revoked", admin.EmptyFieldListFilter)]
    search_fields = ["name", "token", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    readonly_fields = [
        "connected", "holder", "connected_since", "remote_addr", "last_write_at", "accepted", "rejected",
        "last_error", "last_error_line", "last_error_at", "takeovers", "last_seq",
    ]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["user", "prefix", "created"]
    search_fields = ["user__username"]
    readonly_fields = ["key_hash", "prefix", "created"]


@admin.register(Grid)
class GridAdmin(admin.ModelAdmin):
    """The arrays Plotly's Python client uploaded beside its plots."""

    list_display = ["id", "filename", "folder", "owner", "created"]
    search_fields = ["filename", "folder", "owner__username"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
