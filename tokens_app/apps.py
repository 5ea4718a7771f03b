from __future__ import annotations

from django.apps import AppConfig


class TokensAppConfig(AppConfig):
    name = "tokens_app"
    verbose_name = "Access tokens"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tokens_app import (
            activity,  # noqa: F401  (connects the activity log's signals)
            checks,  # noqa: F401  (registers the system checks)
        )
