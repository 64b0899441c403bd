"""The routes of Plotly's clients: no trailing slash, as they call them."""

from django.urls import path

from web.plotly_api import views

urlpatterns = [
    path("v2/users/current", views.CurrentUserView.as_view()),
    path("v2/files/lookup", views.FileLookupView.as_view()),
    path("v2/folders", views.FoldersView.as_view()),
    path("v2/grids", views.GridsView.as_view()),
    path("v2/grids/<str:fid>", views.GridDetailView.as_view()),
    path("v2/grids/<str:fid>/content", views.GridContentView.as_view()),
    path("v2/plots", views.PlotsView.as_view()),
    path("v2/plots/<str:fid>", views.PlotDetailView.as_view()),
    path("v2/plots/<str:fid>/content", views.PlotContentView.as_view()),
    path("clientresp", views.ClientrespView.as_view()),
    path("apigetfile/<str:owner>/<int:pk>", views.ApiGetFileView.as_view()),
]
