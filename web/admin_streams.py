"""The admin of what feeds and marks plots: stream tokens (their status, revoking, clearing their
traces' windows), API keys, grids and annotations. Registered by web/admin.py."""

from django import forms
from django.contrib import admin, messages
from django.http import Http404
from django.utils.html import format_html
from django.utils.text import Truncator

from core.annotation_fields import AnnotationInvalid, check_room
from core.models import Annotation, ApiKey, Grid, StreamToken, Trace
from core.models.tokens import TOKEN_STATUS_FIELDS
from web.admin_windows import clear_windows
from web.templatetags.when import when


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
