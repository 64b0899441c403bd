"""The archive's routes: a trace's stored history by range, and the runs of streams and plots
(docs/history.md). plotserver/urls.py puts them before web's, whose routers would take them."""

from django.urls import path

from history.views import PlotRunsView, StreamRunsView, TracePointsView

urlpatterns = [
    path("api/plots/<str:plot_pk>/traces/<str:index>/points/", TracePointsView.as_view(), name="api-trace-points"),
    path("api/streams/<str:pk>/runs/", StreamRunsView.as_view(), name="api-stream-runs"),
    path("api/plots/<str:plot_pk>/runs/", PlotRunsView.as_view(), name="api-plot-runs"),
]
