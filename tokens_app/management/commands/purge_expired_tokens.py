"""Delete tokens that expired long ago, in batches, so the table stays small.

Expired tokens stay listed for a while so their owners see what lapsed; this
removes them once they are older than the grace period. Each batch is its own
short transaction and only a batch of ids is ever in memory, so it is safe to
run on a table of millions, from cron, while the site serves traffic.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tokens_app.models import AccessToken


class Command(BaseCommand):
    help = "Delete access tokens that expired more than --days days ago (default 30)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=30, help="Grace period after expiry, in days (default 30)."
        )
        parser.add_argument(
            "--batch-size", type=int, default=1000, help="Rows deleted per transaction."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go, delete nothing."
        )

    def handle(self, *args: Any, days: int, batch_size: int, dry_run: bool, **options: Any) -> None:
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        before = timezone.now() - datetime.timedelta(days=days)
        when = f"expired before {before:%Y-%m-%d %H:%M %Z}"
        if dry_run:
            count = AccessToken.objects.filter(expires_at__lt=before).count()
            self.stdout.write(f"Would remove {_tokens(count)} that {when}.")
            return
        total = 0
        for batch, removed in enumerate(
            AccessToken.objects.purge_expired(before=before, batch_size=batch_size), start=1
        ):
            total += removed
            if options["verbosity"] >= 2:
                self.stdout.write(f"  batch {batch}: removed {removed} ({total} so far)")
        self.stdout.write(self.style.SUCCESS(f"Removed {_tokens(total)} that {when}."))


def _tokens(count: int) -> str:
    return f"{count} token{'' if count == 1 else 's'}"
