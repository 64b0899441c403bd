"""The routes of images. plotserver/urls.py includes them after web's, whose `.embed` and `.json`
routes of a plot come first; any other extension of a plot's address is an image format (an
unknown one is answered 400 with those accepted)."""

from django.urls import path

from images import views

urlpatterns = [
    path("v2/images", views.PlotlyImagesView.as_view(), name="plotly-images"),
    path("~<str:username>/<int:pk>.<str:extension>", views.PlotImageView.as_view(), name="plot-image"),
]
