from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from playground.chat import views as chat_views
from playground.core import health
from playground.core import views as core_views
from playground.presets import views as preset_views

urlpatterns = [
    path("", chat_views.playground, name="playground"),
    path("models/", chat_views.model_options, name="model-options"),
    path("endpoints/", core_views.home, name="endpoints"),
    path("accounts/theme/", core_views.set_theme, name="theme"),
    path("transcripts/", include("playground.transcripts.urls")),
    path("presets/", include("playground.presets.urls")),
    path("cases/", include("playground.cases.urls")),
    path("p/<slug:slug>/", preset_views.open_preset, name="preset-link"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]

# A database outage is a 503 that says so, not a 500.
handler500 = "playground.core.views.server_error"
