"""A dashboard as the REST API reads and writes it (docs/dashboards.md, "The API")."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dashboards.layout import PanelError, PanelSpec, parse_panels
from dashboards.models import Dashboard, plots_not_allowed

PANELS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["plot"],
        "properties": {
            "plot": {"type": "integer", "description": "The id of a plot: yours, or a public one."},
            "x": {"type": "integer", "minimum": 0, "maximum": 11, "description": "Column (of 12), from 0."},
            "y": {"type": "integer", "minimum": 0, "description": "Row, from 0."},
            "w": {"type": "integer", "minimum": 1, "maximum": 12, "description": "Width in columns (6)."},
            "h": {"type": "integer", "minimum": 1, "maximum": 24, "description": "Height in rows (4)."},
            "title": {"type": "string", "description": "The panel's own title (the plot's when empty)."},
        },
    },
}


@extend_schema_field(PANELS_SCHEMA)
class PanelsField(serializers.Field):
    """Panels as `[{"plot", "x", "y", "w", "h", "title"}]`, placed when `x` and `y` are left out."""

    def to_internal_value(self, data: Any) -> dict[str, list[PanelSpec]]:
        try:
            return {"panels": parse_panels(data)}
        except PanelError as error:
            raise serializers.ValidationError(str(error)) from None

    def to_representation(self, dashboard: Dashboard) -> list[dict]:
        return [
            {"plot": p.plot_id, "x": p.x, "y": p.y, "w": p.w, "h": p.h, "title": p.title}
            for p in dashboard.panels.all()
        ]


class DashboardSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    share_key = serializers.SerializerMethodField(help_text="The key of a secret dashboard's link; null otherwise.")
    web_url = serializers.SerializerMethodField()
    embed_url = serializers.SerializerMethodField()
    panels = PanelsField(source="*", required=False)

    class Meta:
        model = Dashboard
        fields = [
            "id",
            "title",
            "sharing",
            "share_key",
            "owner",
            "web_url",
            "embed_url",
            "panels",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "created", "updated"]

    def get_share_key(self, dashboard: Dashboard) -> str | None:
        return dashboard.share_key if dashboard.sharing == Dashboard.SECRET else None

    def get_web_url(self, dashboard: Dashboard) -> str:
        return self._absolute(dashboard.get_absolute_url() + dashboard.link_query())

    def get_embed_url(self, dashboard: Dashboard) -> str:
        return self._absolute(dashboard.embed_path() + dashboard.link_query())

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def validate(self, attrs: dict) -> dict:
        panels: list[PanelSpec] | None = attrs.get("panels")
        if panels is not None:
            owner = self.instance.owner if self.instance is not None else self.context["request"].user
            refused = plots_not_allowed(owner, [p.plot for p in panels])
            for position, panel in enumerate(panels):
                if panel.plot in refused:
                    raise serializers.ValidationError(
                        {
                            "panels": f"panel {position + 1}: no plot {panel.plot} that this dashboard may show; "
                            "a dashboard shows its owner's plots and public ones."
                        }
                    )
        return attrs

    def create(self, validated_data: dict) -> Dashboard:
        panels = validated_data.pop("panels", [])
        with transaction.atomic():
            dashboard = Dashboard.objects.create(**validated_data)
            dashboard.set_panels(panels)
        return dashboard

    def update(self, dashboard: Dashboard, validated_data: dict) -> Dashboard:
        panels = validated_data.pop("panels", None)
        for name, value in validated_data.items():
            setattr(dashboard, name, value)
        with transaction.atomic():
            dashboard.save()
            if panels is not None:
                dashboard.set_panels(panels)
        return dashboard
