import json

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count
from django.http import Http404
from django.utils.html import format_html
from django.utils.text import Truncator

from core import figure_schema
from core.annotation_fields import AnnotationInvalid, check_room
from core.models import Annotation, ApiKey, Grid, Plot, StreamToken, Trace
from core.models.tokens import TOKEN_STATUS_FIELDS
from core.models.windows import traces_with_windows
from core.protocol import flatten
from core.retention import normalize_retention
from core.window import clear_window, point_count
from streaming.store import rebase_window
from web.templatetags.when import when

PREVIEW_VALUES = 3

# plotserver's admin, named as such (templates/admin/base_site.html adds its mark and colours).
admin.site.site_header = "plotserver admin"
admin.site.site_title = "plotserver admin"
admin.site.index_title = "Plots, streams and accounts"


def clear_windows(traces) -> set[int]:
    """Empty the streamed windows of these traces (their styles stay); return the plots touched.

    The traces are locked as an ingest batch locks them, so a batch in flight lands after the
    clear, never under it. The plots' viewers then take a fresh snapshot.
    """
    trace_ids = [t.pk for t in traces]
    with transaction.atomic():
        plots = Plot.objects.filter(traces__in=trace_ids).distinct()
        plots.changed()
        plot_ids = set()
        for trace in Trace.objects.select_for_update().filter(pk__in=trace_ids):
            clear_window(trace.spec)
            trace.save(update_fields=["spec"])
            rebase_window(trace)
            plot_ids.add(trace.plot_id)
    return plot_ids


def current_window(trace: Trace) -> dict:
    """The trace's spec as viewers see it now (its checkpoint plus the rows stored after it)."""
    (window,) = traces_with_windows(Trace.objects.filter(pk=trace.pk))
    return window.spec


def save_changed_fields(form) -> None:
    """Save only what the operator changed: a window or layout read when the form was
    posted may be older than what streams have written since."""
    if form.instance.pk is None or not form.changed_data:
        form.save()
    else:
        form.save(commit=False)
        form.instance.save(update_fields=form.changed_data)


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


class ConnectedFilter(admin.SimpleListFilter):
    title = "connected now"
    parameter_name = "connected_now"

    def lookups(self, request, model_admin):
        return [("yes", "connected"), ("no", "not connected")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(StreamToken.live())
        if self.value() == "no":
            return queryset.exclude(StreamToken.live())
        return queryset


# The columns a status field folds in, shown beside it on the token's change form.
STATUS_DETAIL_COLUMNS = {"connected": ("holder",), "last_error": ("last_error_line", "last_error_at")}


class StreamTokenAdminForm(forms.ModelForm):
    """The token's change form. "Revoked" is a checkbox that revokes through StreamToken.revoke
    (so the open stream ends with 410), never a date edited by hand; revoking is for good."""

    revoke = forms.BooleanField(
        label="Revoked",
        required=False,
        help_text="Tick to revoke: the open stream ends with 410 and new ones are refused. It cannot be undone.",
    )

    class Meta:
        model = StreamToken
        exclude = ["revoked"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and self.instance.is_revoked:
            self.fields["revoke"].initial = True
            self.fields["revoke"].disabled = True


@admin.register(StreamToken)
class StreamTokenAdmin(admin.ModelAdmin):
    # Narrow enough for a 1,400 px screen beside the admin's sidebars; when it connected and
    # how often it was taken over are on the change form.
    list_display = [
        "__str__",
        "owner",
        "connected_now",
        "last_write",
        "accepted",
        "rejected",
        "short_last_error",
        "revoked_at",
    ]
    list_filter = [
        ConnectedFilter,
        ("revoked", admin.EmptyFieldListFilter),
        ("last_write_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["name", "token", "owner__username", "remote_addr"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    form = StreamTokenAdminForm
    # The stream's status as stored: StreamToken.status()'s fields, each followed by the columns
    # behind it that the status folds in.
    readonly_fields = [
        column for field in TOKEN_STATUS_FIELDS for column in (field, *STATUS_DETAIL_COLUMNS.get(field, ()))
    ]
    actions = ["clear_stream_windows", "revoke_tokens"]

    def save_model(self, request, obj, form, change):
        # Only what the operator changed: the stream's status columns move while the form is open.
        changed = [name for name in form.changed_data if name != "revoke"]
        if obj.pk is None:
            form.save()
        elif changed:
            form.save(commit=False)
            obj.save(update_fields=changed)
        if form.cleaned_data.get("revoke") and not obj.is_revoked:
            obj.revoke()

    @admin.display(description="connected", boolean=True)
    def connected_now(self, token: StreamToken) -> bool:
        return token.is_connected

    @admin.display(description="last error")
    def short_last_error(self, token: StreamToken) -> str:
        return format_html('<span title="{}">{}</span>', token.last_error, Truncator(token.last_error).chars(40))

    # Times in the one format (relative, exact on hover), which also keeps the list narrow.
    @admin.display(description="last write", ordering="last_write_at")
    def last_write(self, token: StreamToken) -> str:
        return when(token.last_write_at)

    @admin.display(description="revoked", ordering="revoked")
    def revoked_at(self, token: StreamToken) -> str:
        return when(token.revoked, empty="-")

    class Media:  # admin.css is on every admin page (templates/admin/base_site.html)
        js = ["plots/ui.js"]

    @admin.action(description="Clear the windows of the traces these streams feed")
    def clear_stream_windows(self, request, queryset):
        plots = clear_windows(Trace.objects.filter(stream_token__in=queryset))
        self.message_user(request, f"Cleared the windows of their traces in {len(plots)} plot(s).", messages.SUCCESS)

    @admin.action(description="Revoke the selected tokens (open streams end with 410)")
    def revoke_tokens(self, request, queryset):
        for token in queryset.filter(revoked__isnull=True):
            token.revoke()
        self.message_user(request, "Revoked.", messages.SUCCESS)


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


ANNOTATION_FIELDS = ("x", "x_end", "text", "trace", "color")


class AnnotationAdminForm(forms.ModelForm):
    """Checked by the model's rules (core/annotation_fields.py), the per-plot bound included."""

    class Meta:
        model = Annotation
        fields = ["plot", *ANNOTATION_FIELDS]

    def clean(self):
        data = super().clean()
        plot = data.get("plot") if self.instance.pk is None else self.instance.plot  # read-only on change
        if plot is None or self.errors:
            return data
        probe = Annotation(plot=plot)
        try:
            if self.instance.pk is None:
                check_room(plot.pk, 1, plot.annotations.count())
            probe.assign_checked({name: data.get(name) for name in ANNOTATION_FIELDS})
        except AnnotationInvalid as exc:
            raise forms.ValidationError({exc.field if exc.field in self.fields else None: str(exc)}) from None
        return data


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    """Events and spans marked on plots; saved and deleted the one way, so viewers see it live."""

    list_display = ["id", "plot", "x", "x_end", "short_text", "stream", "created"]
    search_fields = ["text", "plot__title", "plot__owner__username"]
    list_select_related = ["plot", "stream"]
    raw_id_fields = ["plot"]
    readonly_fields = ["stream", "seq", "created", "updated"]
    form = AnnotationAdminForm

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data.get(name) for name in ANNOTATION_FIELDS}
        if change:
            try:
                obj.edit(fields)
            except Annotation.DoesNotExist:
                raise Http404("The annotation was deleted meanwhile.") from None
        else:
            obj.pk = Annotation.add(obj.plot_id, fields).pk

    def delete_model(self, request, obj):
        obj.remove()

    def delete_queryset(self, request, queryset):
        queryset.remove()

    def get_readonly_fields(self, request, obj=None):
        # An annotation stays on its plot: moving it would leave the old plot's viewers drawing it.
        return [*self.readonly_fields, "plot"] if obj is not None else self.readonly_fields

    @admin.display(description="text")
    def short_text(self, annotation: Annotation) -> str:
        return Truncator(annotation.text).chars(60)
