from django.urls import include, path
from rest_framework.routers import DefaultRouter

from plots import views, viewsets

router = DefaultRouter()
router.register("streams", viewsets.StreamTokenViewSet, basename="stream")
router.register("plots", viewsets.PlotViewSet, basename="plot")
router.register(r"plots/(?P<plot_pk>\d+)/traces", viewsets.TraceViewSet, basename="trace")

urlpatterns = [
    path("api/", include(router.urls)),
    path("", views.plot_list, name="plot-list"),
    path("~<str:username>/<int:pk>/", views.plot_detail, name="plot-detail"),
    path("~<str:username>/<int:pk>.embed", views.plot_embed, name="plot-embed"),
]
