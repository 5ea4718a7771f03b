"""Revoke one token, or every token, of a user from the shell (for example after a leak)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tokens_app.management.commands._users import user_named


class Command(BaseCommand):
    help = "Revoke a user's access token by identifier, or all of them with --all."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "identifier",
            nargs="?",
            help="The token's identifier as listed (djpat_AbC…), or its public id.",
        )
        parser.add_argument("--all", action="store_true", help="Revoke every token of the user.")

    def handle(
        self, *args: Any, username: str, identifier: str | None, all: bool, **options: Any
    ) -> None:
        if bool(identifier) == all:
            raise CommandError("Give either one token identifier or --all, not both or neither.")
        user = user_named(username)
        tokens = user.access_tokens.all()
        if identifier:
            public_id = identifier.rpartition("_")[2]
            tokens = tokens.filter(public_id=public_id)
            if not tokens.exists():
                raise CommandError(f"{username} has no token {identifier!r}.")
        with transaction.atomic():
            chosen = list(tokens.select_for_update())
            for token in chosen:
                label = str(token)
                token.revoke()
                self.stdout.write(f"Revoked {label}.")
        count = len(chosen)
        self.stdout.write(
            self.style.SUCCESS(f"Revoked {count} token{'' if count == 1 else 's'} of {username}.")
        )
