from django.urls import path

from . import views

app_name = "presets"
urlpatterns = [
    path("", views.preset_list, name="list"),
    path("new/", views.save_new, name="save-new"),
    path("<str:slug>/save/", views.save, name="save"),
    path("<str:slug>/fork/", views.fork, name="fork"),
    path("<str:slug>/edit/", views.edit, name="edit"),
    path("<str:slug>/delete/", views.delete, name="delete"),
]
