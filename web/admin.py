import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html
from django.utils.text import Truncator

from core import figure_schema
from core.models import Plot, StreamToken, Trace
from core.protocol import flatten
from core.retention import normalize_retention
from core.window import point_count
from web import admin_streams  # noqa: F401 (registers the admin of tokens, keys, grids, annotations)
from web.admin_forms import save_changed_fields
from web.admin_windows import clear_windows, current_window
from web.templatetags.when import when

PREVIEW_VALUES = 3

# plotserver's admin, named as such (templates/admin/base_site.html adds its mark and colours).
admin.site.site_header = "plotserver admin"
admin.site.site_title = "plotserver admin"
admin.site.index_title = "Plots, streams and accounts"


class TraceInline(admin.StackedInline):
    """A plot's traces. Their data is the streamed window, so it is shown, not edited here;
    traces are added and removed through the API or the owner's pages, which keep indexes dense."""

    model = Trace
    extra = 0
    max_num = 0
    can_delete = False
    raw_id_fields = ["stream_token"]
    readonly_fields = ["index", "points", "stream_status", "spec_preview"]
    fields = ["index", "stream_token", "maxpoints", "points", "stream_status", "spec_preview"]

    @admin.display(description="points in the window")
    def points(self, trace: Trace) -> int:
        return point_count(current_window(trace))

    @admin.display(description="stream")
    def stream_status(self, trace: Trace) -> str:
        token = trace.stream_token
        if token is None:
            return "-"
        state = "connected" if token.is_connected else "idle"
        return format_html("{}, last write {}", state, when(token.last_write_at))

    @admin.display(description="spec")
    def spec_preview(self, trace: Trace) -> str:
        """The trace's attributes, each window as its length and first and last values, never whole."""
        return format_html(
            '<code class="spec-preview">{}</code>',
            "\n".join(f"{k}: {v}" for k, v in spec_preview(current_window(trace))),
        )


def spec_preview(spec: dict) -> list[tuple[str, str]]:
    """(path, short text) for every attribute of a spec, by the streams' own paths (the one
    flattening rule): arrays as a count and a few values."""
    lines = []
    for path, value in flatten(spec):
        if isinstance(value, list):
            if len(value) <= 2 * PREVIEW_VALUES:
                shown = ", ".join(_short(v) for v in value)
            else:
                head = ", ".join(_short(v) for v in value[:PREVIEW_VALUES])
                tail = ", ".join(_short(v) for v in value[-PREVIEW_VALUES:])
                shown = f"{head} … {tail}"
            lines.append((path, f"{len(value)} values [{shown}]"))
        else:
            lines.append((path, _short(value)))
    return lines


def _short(value: object) -> str:
    return Truncator(json.dumps(value)).chars(40)


class StreamingFilter(admin.SimpleListFilter):
    title = "streaming now"
    parameter_name = "streaming"

    def lookups(self, request, model_admin):
        return [("yes", "streaming"), ("no", "idle")]

    def queryset(self, request, queryset):
        live = StreamToken.live("traces__stream_token__")
        if self.value() == "yes":
            return queryset.filter(live).distinct()
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


class PlotAdminForm(forms.ModelForm):
    """The admin's plot form checks a layout as the API does: Plotly's schema, no token."""

    class Meta:
        model = Plot
        fields = "__all__"

    def clean_retention(self) -> str:
        return normalize_retention(self.cleaned_data["retention"])  # the field's validator parsed it

    def clean(self):
        data = super().clean()
        layout = data.get("layout")
        if isinstance(layout, dict):
            data["layout"] = layout = figure_schema.upgrade_layout(layout)
            owner = data.get("owner")
            problems = figure_schema.check_layout(layout) + figure_schema.check_layout_size(layout)
            problems += [
                figure_schema.FigureProblem(path, "holds one of the owner's stream tokens, which viewers would see")
                for path in figure_schema.token_paths(
                    layout, StreamToken.objects.strings_of(getattr(owner, "pk", None)), "layout"
                )
            ]
            if problems:
                self.add_error("layout", [f"{p.path}: {p.message}" for p in problems])
        return data


@admin.register(Plot)
class PlotAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "folder",
        "owner",
        "sharing",
        "retention",
        "trace_count",
        "streaming",
        "updated",
        "view",
    ]
    list_filter = ["sharing", StreamingFilter, "updated"]
    search_fields = ["title", "owner__username", "traces__stream_token__name", "traces__stream_token__token"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    form = PlotAdminForm
    inlines = [TraceInline]
    actions = ["clear_plot_windows"]

    class Media:  # admin.css is on every admin page (templates/admin/base_site.html)
        js = ["plots/ui.js"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                trace_total=Count("traces", distinct=True),
                streaming_total=Count(
                    "traces__stream_token", filter=StreamToken.live("traces__stream_token__"), distinct=True
                ),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # The layout changes with every streamed `layout` line: edit it on the owner's page.
        return ["layout"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        if change:
            obj.changed()  # the admin's transaction: viewers are told once it commits
        save_changed_fields(form)

    def save_formset(self, request, form, formset, change):
        for inline_form in formset.forms:
            if inline_form.has_changed():
                save_changed_fields(inline_form)

    def delete_model(self, request, obj):
        obj.remove()

    def delete_queryset(self, request, queryset):
        queryset.remove()

    @admin.display(description="traces", ordering="trace_total")
    def trace_count(self, plot: Plot) -> int:
        return plot.trace_total  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="streaming now", ordering="streaming_total")
    def streaming(self, plot: Plot) -> int:
        return plot.streaming_total  # type: ignore[attr-defined]  # annotated by get_queryset

    @admin.display(description="")
    def view(self, plot: Plot) -> str:
        return format_html('<a href="{}">view</a>', plot.get_absolute_url())

    @admin.action(description="Clear the streamed windows of the selected plots")
    def clear_plot_windows(self, request, queryset):
        plots = clear_windows(Trace.objects.filter(plot__in=queryset))
        self.message_user(request, f"Cleared the windows of {len(plots)} plot(s).", messages.SUCCESS)
