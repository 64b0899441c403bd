from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from operations import views as operations

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", operations.healthz, name="healthz"),
    path("readyz", operations.readyz, name="readyz"),
    path("metrics", operations.metrics_view, name="metrics"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("plots.plotly_api")),  # Plotly's own clients: /v2/..., /clientresp
    path("", include("plots.urls")),
]
