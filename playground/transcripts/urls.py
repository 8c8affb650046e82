from django.urls import path

from . import views

app_name = "transcripts"
urlpatterns = [
    path("", views.my_runs, name="list"),
    path("<uuid:uuid>/", views.detail, name="detail"),
    path("<uuid:uuid>/visibility/", views.set_visibility, name="visibility"),
    path("compare/<uuid:group>/", views.group, name="group"),
    path("votes/", views.votes, name="votes"),
]
