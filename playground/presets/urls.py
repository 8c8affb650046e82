from django.urls import path

from . import views

app_name = "presets"
urlpatterns = [
    path("", views.preset_list, name="list"),
    path("new/", views.save_new, name="save-new"),
    path("<slug:slug>/save/", views.save, name="save"),
    path("<slug:slug>/fork/", views.fork, name="fork"),
    path("<slug:slug>/edit/", views.edit, name="edit"),
    path("<slug:slug>/delete/", views.delete, name="delete"),
]
