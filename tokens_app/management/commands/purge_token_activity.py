"""Trim the activity log to the retention period, in batches. Run it from cron, say daily."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tokens_app import activity
from tokens_app.conf import policy


class Command(BaseCommand):
    help = "Delete token activity older than ACCESS_TOKENS['ACTIVITY_RETENTION_DAYS']."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, help="Keep this many days instead of the setting's value."
        )
        parser.add_argument(
            "--batch-size", type=int, default=activity.PURGE_BATCH_SIZE, help="Rows per delete."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"] if options["days"] is not None else policy().activity_retention_days
        if days < 1 or options["batch_size"] < 1:
            raise CommandError("--days and --batch-size must be at least 1.")
        events, notices = activity.purge(days=days, batch_size=options["batch_size"])
        self.stdout.write(
            f"Removed {events} activity events and {notices} expiry-notice records "
            f"older than {days} days."
        )
