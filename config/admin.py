"""The demo site's User admin, with each user's access tokens on their page."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from tokens_app.admin import AccessTokenInline

User = get_user_model()

admin.site.unregister(User)


@admin.register(User)
class UserWithTokensAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, AccessTokenInline]
