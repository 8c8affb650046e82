from django.urls import path

from . import views

app_name = "transcripts"
urlpatterns = [
    path("", views.my_runs, name="list"),
    path("<uuid:uuid>/", views.detail, name="detail"),
    path("<uuid:uuid>/visibility/", views.set_visibility, name="visibility"),
    path("compare/<uuid:group>/", views.group, name="group"),
    path("compare/<uuid:group>/vote/", views.vote, name="vote"),
    path("votes/", views.votes, name="votes"),
]
