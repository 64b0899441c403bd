from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from operations import views as operations
from web.authentication import ThrottledLoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", operations.healthz, name="healthz"),
    path("readyz", operations.readyz, name="readyz"),
    path("metrics", operations.metrics_view, name="metrics"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Split: Swagger UI's start-up script is a file of its own (?script), not inline, for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("web.plotly_api.urls")),  # Plotly's own clients: /v2/..., /clientresp
    path("", include("alerts.urls")),
    path("", include("history.urls")),  # before web's routers, which would take these paths
    path("", include("lineproto.urls")),  # InfluxDB line protocol: /api/v2/write, /write
    path("", include("dashboards.urls")),  # before web's routers too
    path("", include("web.urls")),
    path("", include("images.urls")),  # after web's: a plot's .embed and .json are web's
]
