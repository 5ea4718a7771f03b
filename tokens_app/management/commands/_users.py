"""Shared by the token commands: find a user by username, or say clearly who is missing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def user_named(username: str) -> Any:
    users = get_user_model()._default_manager
    try:
        return users.get(**{users.model.USERNAME_FIELD: username})
    except users.model.DoesNotExist:
        raise CommandError(f"There is no user called {username!r}.") from None
