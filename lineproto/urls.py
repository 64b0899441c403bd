"""The write endpoints of InfluxDB 2 and 1, at the paths their clients and Telegraf post to, and
a plot's bucket name.
plotserver/urls.py puts them before web's, whose routers would take `api/...`."""

from django.urls import path

from lineproto.views import PlotBucketView, WriteV1, WriteV2

urlpatterns = [
    path("api/v2/write", WriteV2.as_view(), name="lineproto-write-v2"),
    path("write", WriteV1.as_view(), name="lineproto-write-v1"),
    path("api/plots/<str:plot_pk>/bucket/", PlotBucketView.as_view(), name="lineproto-plot-bucket"),
]
