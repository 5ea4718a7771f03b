"""Django admin for tokens: every token, never a secret."""

from __future__ import annotations

from django.contrib import admin

from tokens_app.models import AccessToken


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "owner",
        "identifier",
        "permissions_label",
        "created_at",
        "expires_at",
        "last_used_at",
    ]
    list_select_related = ["owner"]
    search_fields = ["name", "public_id", "owner__username", "owner__email"]
    readonly_fields = ["identifier", "created_at", "expires_at", "last_used_at", "last_used_ip"]
    fields = [
        "owner",
        "name",
        "permissions",
        "identifier",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
    ]

    def has_add_permission(self, request: object) -> bool:
        return False
