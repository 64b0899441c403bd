"""/api/alerts/: the requesting user's alerts (docs/alerts.md). Another user's alert is a 404,
another user's plot a 400, as elsewhere in the API."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.models import Alert
from alerts.serializers import AlertSerializer


@extend_schema_view(
    create=extend_schema(
        description="Make an alert on one of your plots' traces. The answer carries its `webhook_secret`, "
        "this once. 400: a field is wrong (another user's plot, a trace it lacks, a refused webhook host)."
    ),
    list=extend_schema(
        description="Your alerts, with their state and the latest delivery attempts.",
        parameters=[OpenApiParameter("plot", int, description="Only the alerts of this plot (one of yours).")],
    ),
    retrieve=extend_schema(description="One of your alerts; 404 for another user's."),
    destroy=extend_schema(description="Delete one of your alerts; 404 for another user's."),
)
class AlertViewSet(viewsets.ModelViewSet):
    serializer_class = AlertSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Alert.objects.none()
        alerts = Alert.objects.filter(owner=self.request.user).order_by("pk")
        plot = self.request.query_params.get("plot")
        if plot is not None and self.action == "list":
            if not (plot.isascii() and plot.isdigit()):
                raise serializers.ValidationError({"plot": ["?plot= is a plot's id, a number"]})
            alerts = alerts.filter(plot_id=int(plot))
        return alerts

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        alert = serializer.save(owner=request.user)
        answer = AlertSerializer(alert, context={**self.get_serializer_context(), "created": True})
        return Response(answer.data, status=status.HTTP_201_CREATED)
