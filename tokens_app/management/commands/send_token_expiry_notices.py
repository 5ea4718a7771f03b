"""Queue the expiry reminders that are due. Run it from cron, say hourly.

Each reminder is claimed before it is queued, so overlapping or repeated runs
never send one twice. Tokens found expired are logged in their activity.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tokens_app import activity, notifications, tasks
from tokens_app.models import ExpiryNotice

Stage = ExpiryNotice.Stage
LABELS = {Stage.EXPIRED: "expired", Stage.DAY: "due in a day", Stage.WEEK: "due in a week"}


class Command(BaseCommand):
    help = "Email owners of tokens that expire in 7 days, in 1 day, or have just expired."

    def handle(self, *args: Any, **options: Any) -> None:
        counts = dict.fromkeys(LABELS, 0)
        for stage in counts:
            for token in notifications.due(stage).select_related("owner").iterator(chunk_size=500):
                if stage == Stage.EXPIRED:
                    activity.note_expired(token)
                notice = notifications.claim(token, stage)
                if notice is not None:
                    tasks.queue_expiry_email(notice.pk)
                    counts[stage] += 1
        summary = ", ".join(f"{count} {LABELS[stage]}" for stage, count in counts.items())
        self.stdout.write(f"Queued {sum(counts.values())} expiry notices ({summary}).")
