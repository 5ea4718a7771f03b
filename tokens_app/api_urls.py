"""The JSON API's URLs; a project includes them under its API prefix, e.g. ``api/v1/``."""

from __future__ import annotations

from django.urls import path

from tokens_app import api, openapi

app_name = "tokens_api"

urlpatterns = [
    path("openapi.json", openapi.view, name="openapi"),
    path("tokens", api.tokens, name="list"),
    path("tokens/self", api.token_self, name="self"),
    path("tokens/self/rotate", api.token_self_rotate, name="rotate"),
    path("tokens/revoke", api.revoke, name="revoke"),
    path("tokens/<int:pk>", api.token_detail, name="detail"),
]
