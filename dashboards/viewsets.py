"""The REST API of dashboards, /api/dashboards/ (docs/dashboards.md, "The API")."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from dashboards.models import Dashboard
from dashboards.serializers import DashboardSerializer

SHARE_KEY = OpenApiParameter("share_key", str, description="A secret dashboard's key, for anyone but its owner.")


class SeenOrOwned(permissions.BasePermission):
    """Anyone the dashboard is shared with may read it; only its owner may change it."""

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.is_authenticated

    def has_object_permission(self, request, view, obj: Dashboard) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.pk == obj.owner_id


@extend_schema_view(
    list=extend_schema(description="Your dashboards (401/403 without credentials)."),
    create=extend_schema(
        description=(
            "A new dashboard, yours. 201 with its `id`, `web_url` (with the key when secret) and placed panels; "
            "400 names the first bad panel (`panel 2: ...`), also one showing another user's private plot."
        )
    ),
    retrieve=extend_schema(
        parameters=[SHARE_KEY],
        description=(
            "One dashboard: 200 to anyone it is shared with; 404 when there is none or it is not shared with you."
        ),
    ),
    partial_update=extend_schema(
        description=(
            "Change the title, sharing or panels (the list given replaces them all): 200; 400 a bad field or "
            "panel; 403 not the owner; 404 not shared with you."
        )
    ),
    update=extend_schema(description="As PATCH, with every writable field."),
    destroy=extend_schema(description="Delete the dashboard (204); its plots stay. 403 not the owner."),
)
class DashboardViewSet(viewsets.ModelViewSet):
    """Dashboards. The list is your own; one dashboard is readable by anyone it is shared with."""

    serializer_class = DashboardSerializer
    permission_classes = [SeenOrOwned]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Dashboard.objects.none()
        return Dashboard.objects.filter(owner=self.request.user).select_related("owner").prefetch_related("panels")

    def list(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            self.permission_denied(request)
        return super().list(request, *args, **kwargs)

    def get_object(self) -> Dashboard:
        dashboard = Dashboard.objects.visible_or_404(
            self.request.user, self.request.query_params.get("share_key"), self.kwargs["pk"]
        )
        self.check_object_permissions(self.request, dashboard)
        return dashboard

    def perform_create(self, serializer) -> None:
        serializer.save(owner=self.request.user)

    def update(self, request, *args, **kwargs):
        if isinstance(request.data, dict) and "share_key" in request.data:
            raise ValidationError(
                {"share_key": "A share key cannot be set. POST /api/dashboards/<id>/share_key/ makes a new one."}
            )
        return super().update(request, *args, **kwargs)

    def perform_destroy(self, dashboard: Dashboard) -> None:
        dashboard.remove()

    @extend_schema(
        request=None,
        description="Rotate a secret dashboard's key: old links stop working at once (400 when not secret).",
    )
    @action(detail=True, methods=["post"], url_path="share_key")
    def share_key(self, request: Request, pk=None) -> Response:
        dashboard = self.get_object()
        if dashboard.sharing != Dashboard.SECRET:
            raise ValidationError(
                {"sharing": "Only a secret dashboard has a share key; switching to secret makes a new one."}
            )
        dashboard.rotate_share_key()
        return Response(self.get_serializer(dashboard).data)
