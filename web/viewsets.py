"""The REST API under /api/: stream tokens, plots, a plot's traces and its annotations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from base.refusals import refusal_body
from core.annotation_drawing import shown
from core.models import Annotation, Plot, StreamToken, Trace
from web.serializers import AnnotationSerializer, PlotSerializer, TraceSerializer
from web.token_serializers import StreamTokenSerializer


class StreamTokenViewSet(
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.ListModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your stream tokens, addressed by id: the token itself is a credential and never goes in
    a URL (where access logs and proxies keep it). PATCH changes the name or the MQTT topic.
    DELETE revokes: an open stream ends (410) and new ones are refused."""

    serializer_class = StreamTokenSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return StreamToken.objects.filter(owner=self.request.user).prefetch_related("traces")

    def perform_create(self, serializer) -> None:
        serializer.save(owner=self.request.user)

    def perform_destroy(self, token: StreamToken) -> None:
        token.revoke()


class StreamByTokenGone(APIView):
    """`/api/streams/<token>/`, the old address: 410, pointing to the id route."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def gone(self, request: Request, *args, **kwargs) -> Response:
        # The path is not echoed: it holds a credential.
        return Response(
            refusal_body(STREAM_BY_TOKEN_GONE),
            status=status.HTTP_410_GONE,
        )

    get = post = put = patch = delete = gone


STREAM_BY_TOKEN_GONE = (
    "Streams are addressed by id now: /api/streams/<id>/, with the id from POST /api/streams/ or "
    "GET /api/streams/. A token never goes in a URL; treat one that did as exposed."
)


class ViewerOrOwner(permissions.BasePermission):
    """Anyone the plot is shared with may read it; only its owner may change it."""

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.is_authenticated

    def has_object_permission(self, request, view, obj: Plot | Trace) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        plot = obj if isinstance(obj, Plot) else obj.plot
        return request.user.pk == plot.owner_id


class PlotViewSet(viewsets.ModelViewSet):
    """Plots. The list is your own; one plot is readable by anyone it is shared with."""

    serializer_class = PlotSerializer
    permission_classes = [ViewerOrOwner]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator, with no user
            return Plot.objects.none()
        return Plot.objects.filter(owner=self.request.user).select_related("owner").prefetch_related("traces")

    @extend_schema(
        description=(
            "Your plots, paged: each a summary (id, title, sharing, urls, `traces` and `streams` counts, "
            "`url` and `figure_url` to read it whole), without its figure unless `?expand=figure`."
        ),
        parameters=[OpenApiParameter("expand", str, description="`figure`: each plot with its whole figure.")],
    )
    def list(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            self.permission_denied(request)
        return super().list(request, *args, **kwargs)

    def get_serializer_context(self) -> dict:
        """A list answers a summary of each plot; `?expand=figure` adds the whole figure."""
        context = super().get_serializer_context()
        if self.action == "list":
            expand = self.request.query_params.get("expand", "")
            wanted = {part.strip() for part in expand.split(",") if part.strip()}
            if wanted - {"figure"}:
                raise ValidationError({"expand": "The one thing a plot list can expand is `figure`: ?expand=figure."})
            context["summary"] = "figure" not in wanted
        return context

    def get_object(self) -> Plot:
        plot = Plot.objects.visible_or_404(
            self.request.user, self.request.query_params.get("share_key"), self.kwargs["pk"]
        )
        self.check_object_permissions(self.request, plot)
        return plot

    def perform_create(self, serializer) -> None:
        serializer.save(owner=self.request.user)

    def update(self, request, *args, **kwargs):
        if isinstance(request.data, dict) and "share_key" in request.data:
            raise ValidationError(
                {"share_key": "A share key cannot be set. POST /api/plots/<id>/share_key/ makes a new one."}
            )
        return super().update(request, *args, **kwargs)

    def perform_destroy(self, plot: Plot) -> None:
        plot.remove()

    @action(detail=True, methods=["get"], permission_classes=[permissions.AllowAny])
    def figure(self, request: Request, pk=None) -> Response:
        """The figure as a viewer sees it now: the streamed windows in the data, no tokens."""
        return Response(self.get_object().viewer_figure())

    @action(detail=True, methods=["post"], url_path="share_key")
    def share_key(self, request: Request, pk=None) -> Response:
        """Rotate a secret plot's share key: links with the old key stop working at once."""
        plot = self.get_object()
        if plot.sharing != Plot.SECRET:
            raise ValidationError(
                {"sharing": "Only a secret plot has a share key; switching to secret makes a new one."}
            )
        plot.rotate_share_key()
        return Response(self.get_serializer(plot).data)


class TraceViewSet(viewsets.ModelViewSet):
    """The traces of one plot, at /api/plots/<id>/traces/<index>/."""

    serializer_class = TraceSerializer
    permission_classes = [ViewerOrOwner]
    lookup_field = "index"

    def plot(self) -> Plot:
        plot = Plot.objects.visible_or_404(
            self.request.user, self.request.query_params.get("share_key"), self.kwargs["plot_pk"]
        )
        if self.request.method not in permissions.SAFE_METHODS and self.request.user.pk != plot.owner_id:
            raise PermissionDenied("Only the plot's owner may change its traces.")
        return plot

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator, with no plot
            return Trace.objects.none()
        return Trace.objects.filter(plot=self.plot()).select_related("stream_token")

    def perform_create(self, serializer) -> None:
        serializer.save(plot=self.plot())

    @transaction.atomic
    def perform_destroy(self, trace: Trace) -> None:
        plot = trace.plot
        plot.changed()
        trace.delete()
        plot.renumber_traces()


class AnnotationViewSet(viewsets.ModelViewSet):
    """The annotations of one plot, at /api/plots/<id>/annotations/<annotation id>/: whoever may
    see the plot reads them (a secret plot with `?share_key=`), its owner writes them."""

    serializer_class = AnnotationSerializer
    permission_classes = [ViewerOrOwner]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    pagination_class = None  # at most ANNOTATIONS_PER_PLOT, answered whole

    def plot(self) -> Plot:
        plot = Plot.objects.visible_or_404(
            self.request.user, self.request.query_params.get("share_key"), self.kwargs["plot_pk"]
        )
        if self.request.method not in permissions.SAFE_METHODS and self.request.user.pk != plot.owner_id:
            raise PermissionDenied("Only the plot's owner may change its annotations.")
        return plot

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator, with no plot
            return Annotation.objects.none()
        return Annotation.objects.of_plot(self.plot().pk)

    def list(self, request: Request, *args, **kwargs) -> Response:
        # As every viewer gets them (an annotation holding an owner's token string is not shown).
        return Response(self.plot().annotation_list())

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        visible = shown([self.get_object().as_dict()], StreamToken.objects.strings_of(self.plot().owner_id))
        if not visible:
            raise NotFound("No Annotation matches the given query.")
        return Response(visible[0])

    def perform_create(self, serializer) -> None:
        with _gone_meanwhile():
            serializer.save(plot_id=self.plot().pk)

    def perform_update(self, serializer) -> None:
        with _gone_meanwhile():
            serializer.save()

    def perform_destroy(self, annotation: Annotation) -> None:
        annotation.remove()


@contextmanager
def _gone_meanwhile() -> Iterator[None]:
    """An annotation (or its plot) deleted while the request ran: 404, as if it came after."""
    try:
        yield
    except ObjectDoesNotExist as exc:
        raise NotFound(str(exc)) from None
