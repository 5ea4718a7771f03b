from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from config import views
from tokens_app import api

urlpatterns = [
    path("", views.settings_index, name="home"),
    path("settings/", views.settings_index, name="settings"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/user", views.api_user, name="api-user"),
    path("api/v1/", include("tokens_app.api_urls")),
    re_path(r"^api/", api.not_found),
    path("", include("tokens_app.urls")),
]
