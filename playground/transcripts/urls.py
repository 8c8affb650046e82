from django.urls import path

from . import views

app_name = "transcripts"
urlpatterns = [
    path("<uuid:uuid>/", views.detail, name="detail"),
]
