from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from dashboards import plotly_api, views, viewsets

# Names start with "api-": "dashboard-detail" is the page's.
router = SimpleRouter()
without_slash = SimpleRouter(trailing_slash=False)
for each in (router, without_slash):
    suffix = "" if each is router else "-no-slash"
    each.register("dashboards", viewsets.DashboardViewSet, basename=f"api-dashboard{suffix}")

urlpatterns = [
    path("api/", include(router.urls)),
    path("api/", include(without_slash.urls)),
    # Plotly's clients (chart_studio's py.dashboard_ops): no trailing slash, as they call them.
    path("v2/dashboards", plotly_api.DashboardsView.as_view()),
    path("v2/dashboards/<str:fid>", plotly_api.DashboardDetailView.as_view(), name="plotly-dashboard"),
    re_path(r"^v2/files/(?P<fid>[^/:]+:d[0-9]+)$", plotly_api.DashboardFileView.as_view()),
    path("dashboards/", views.my_dashboards, name="my-dashboards"),
    path("~<str:username>/dashboards/<int:pk>/", views.dashboard_detail, name="dashboard-detail"),
    path("~<str:username>/dashboards/<int:pk>.embed", views.dashboard_embed, name="dashboard-embed"),
    # The address in a dashboard's Plotly file (web_url), from which chart_studio reads its fid.
    path("~<str:username>/d<int:pk>/", views.dashboard_file_page, name="dashboard-file-page"),
]
