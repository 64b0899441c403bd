from django.contrib import admin
from django.db import models

from alerts.models import Alert, Delivery


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "plot", "trace", "condition", "threshold", "seconds", "state", "since"]
    list_filter = ["condition", "state"]
    readonly_fields = ["webhook_secret", "state", "since", "last_value", "delivery", "created"]
    raw_id_fields = ["owner", "plot"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "alert", "kind", "attempts", "done", "next_at", "outcome"]
    list_filter = ["kind", "done"]
    readonly_fields = ["alert", "kind", "body", "attempts", "created", "next_at", "done", "outcome"]
