from django.urls import include, path
from rest_framework.routers import SimpleRouter

from alerts.views import AlertViewSet

router = SimpleRouter()
router.register("alerts", AlertViewSet, basename="api-alert")
without_slash = SimpleRouter(trailing_slash=False)
without_slash.register("alerts", AlertViewSet, basename="api-alert-no-slash")

urlpatterns = [path("api/", include(router.urls)), path("api/", include(without_slash.urls))]
