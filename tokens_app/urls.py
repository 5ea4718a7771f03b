from __future__ import annotations

from django.urls import path

from tokens_app import views

app_name = "tokens_app"

urlpatterns = [
    path("tokens/", views.token_list, name="list"),
    path("tokens/new/", views.token_create, name="create"),
    path("tokens/<int:pk>/", views.token_detail, name="detail"),
    path("tokens/<int:pk>/row/", views.token_row, name="row"),
    path("tokens/<int:pk>/edit/", views.token_edit, name="edit"),
    path("tokens/<int:pk>/regenerate/", views.token_regenerate, name="regenerate"),
    path("tokens/<int:pk>/delete/", views.token_delete, name="delete"),
    path("settings/notifications/", views.notification_settings, name="notifications"),
]
