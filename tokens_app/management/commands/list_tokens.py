"""Show a user's tokens from the shell: what an admin needs to pick one to revoke."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tokens_app.management.commands._users import user_named

COLUMNS = ["IDENTIFIER", "NAME", "PERMISSIONS", "CREATED", "EXPIRES", "LAST USED", "STATUS"]
STATUS = {"active": "active", "expiring": "expiring soon", "expired": "expired"}


class Command(BaseCommand):
    help = "List a user's access tokens (never their secrets)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        user = user_named(username)
        tokens = user.access_tokens.order_by("-created_at", "-id")
        rows = [
            [
                token.identifier,
                token.name,
                token.permissions_label,
                f"{token.created_at:%Y-%m-%d %H:%M}",
                "never" if token.never_expires else f"{token.expires_at:%Y-%m-%d %H:%M}",
                f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never",
                STATUS[token.status],
            ]
            for token in tokens.iterator()
        ]
        if not rows:
            self.stdout.write(f"{username} has no access tokens.")
            return
        widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
        for row in [COLUMNS, *rows]:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
        self.stdout.write(f"{len(rows)} token{'' if len(rows) == 1 else 's'}.")
