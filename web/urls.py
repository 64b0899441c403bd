from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter, SimpleRouter

from web import views, viewsets

# Names start with "api-": "plot-list" and "plot-detail" are the pages'.
router = DefaultRouter()
# The same routes without the trailing slash, answered as they are: a redirect would lose a
# POST's body (and curl would exit 0 on its empty 301).
without_slash = SimpleRouter(trailing_slash=False)
for each in (router, without_slash):
    suffix = "" if each is router else "-no-slash"
    each.register("streams", viewsets.StreamTokenViewSet, basename=f"api-stream{suffix}")
    each.register("plots", viewsets.PlotViewSet, basename=f"api-plot{suffix}")
    each.register(r"plots/(?P<plot_pk>\d+)/traces", viewsets.TraceViewSet, basename=f"api-trace{suffix}")
    each.register(r"plots/(?P<plot_pk>\d+)/annotations", viewsets.AnnotationViewSet, basename=f"api-annotation{suffix}")

urlpatterns = [
    path("api/", include(router.urls)),
    re_path(r"^api/streams/[^/]+/$", viewsets.StreamByTokenGone.as_view()),
    path("api/", include(without_slash.urls)),
    path("", views.plot_list, name="plot-list"),
    path("~<str:username>/<int:pk>/", views.plot_detail, name="plot-detail"),
    path("~<str:username>/<int:pk>.embed", views.plot_embed, name="plot-embed"),
    path("~<str:username>/<int:pk>.json", views.plot_figure_json, name="plot-figure-json"),
    path("~<str:username>/<int:pk>/traces/<int:index>.csv", views.trace_csv, name="trace-csv"),
    path("~<str:username>/<int:pk>/edit/", views.plot_edit, name="plot-edit"),
    path("~<str:username>/<int:pk>/delete/", views.plot_delete, name="plot-delete"),
    path("plots/", views.my_plots, name="my-plots"),
    path("plots/new/", views.plot_create, name="plot-create"),
    path("plots/status.json", views.status_json, name="owner-status"),
    path("plots/cards.json", views.cards_json, name="plot-cards"),
    path("settings/", views.account_settings, name="account-settings"),
    path("settings/api-key/", views.api_key_issue, name="api-key-issue"),
    path("settings/tokens/", views.token_create, name="token-create"),
    path("settings/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
    path("settings/tokens/<int:pk>/mqtt-topic/", views.token_mqtt_topic, name="token-mqtt-topic"),
]
