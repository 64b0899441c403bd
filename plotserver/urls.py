from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from plots.authentication import ThrottledLoginView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("login/", ThrottledLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("plots.plotly_api")),  # Plotly's own clients: /v2/..., /clientresp
    path("", include("plots.urls")),
]
