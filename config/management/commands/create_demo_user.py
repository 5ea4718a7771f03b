"""Create (or reset) the demo login that ``make run`` prints."""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the demo user and an admin, and print their logins."

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        logins = [
            ("demo", os.environ.get("DEMO_PASSWORD", "demo-password"), False),
            ("admin", os.environ.get("DEMO_ADMIN_PASSWORD", "admin-password"), True),
        ]
        for username, password, staff in logins:
            user, _ = user_model._default_manager.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            user.set_password(password)
            user.is_staff = user.is_superuser = staff
            user.save()
        self.stdout.write(
            self.style.SUCCESS(
                "\n  Log in at http://127.0.0.1:{port}/accounts/login/\n"
                "    user:  demo   password: {demo}\n"
                "    admin: admin  password: {admin}  (also /admin/)\n".format(
                    port=os.environ.get("PORT", "8000"), demo=logins[0][1], admin=logins[1][1]
                )
            )
        )
