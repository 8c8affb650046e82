from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("variables/", views.variables, name="variables"),
    path("show/", views.show, name="show"),
    path("add/", views.add_row, name="add"),
    path("remove/", views.remove_row, name="remove"),
    path("paste/", views.paste, name="paste"),
    path("import/", views.import_file, name="import"),
    path("save/", views.save, name="save"),
    path("open/", views.open_data_set, name="open"),
    path("run-all/", views.run_all, name="run-all"),
    path("estimate/", views.estimate, name="estimate"),
    path("batches/", views.batches, name="batches"),
    path("batches/<uuid:uuid>/", views.batch, name="batch"),
    path(
        "batches/<uuid:uuid>/cells/<int:row>/<int:column>/grade/",
        views.grade,
        name="grade",
    ),
    path("batches/<uuid:uuid>/checks/<int:column>/add/", views.add_check, name="add-check"),
    path(
        "batches/<uuid:uuid>/checks/<int:column>/remove/",
        views.remove_check,
        name="remove-check",
    ),
    path("batches/<uuid:uuid>/export.csv", views.batch_export, {"kind": "csv"}, name="batch-csv"),
    path(
        "batches/<uuid:uuid>/export.jsonl",
        views.batch_export,
        {"kind": "jsonl"},
        name="batch-jsonl",
    ),
]
