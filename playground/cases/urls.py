from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("variables/", views.variables, name="variables"),
]
