"""The ACCESS_TOKENS setting: its keys, defaults and the one place it is read.

Everything else in the app asks ``policy()`` rather than reading settings, so a
test's ``override_settings(ACCESS_TOKENS=...)`` takes effect at once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

DEFAULTS: dict[str, Any] = {
    # The recognisable start of every token, so scanners can spot a leaked one.
    "PREFIX": "djpat",
    # Offered on the create and regenerate forms, in days.
    "EXPIRATION_PRESETS": [7, 30, 60, 90, 180],
    "DEFAULT_EXPIRATION": 30,
    # No token may live longer than this, whatever the form or admin says.
    "MAX_LIFETIME_DAYS": 366,
    # Whether the forms offer "No expiration". Such tokens still get a date
    # (NO_EXPIRATION in models.py, far in the future), so expires_at is never null.
    "ALLOW_NO_EXPIRATION": False,
    # Tokens within this many days of expiry are flagged "Expires soon".
    "EXPIRING_SOON_DAYS": 7,
    "MAX_TOKENS_PER_USER": 50,
    # argon2id cost for secrets at rest. Verified once per secret and process,
    # so it can stay at argon2-cffi's strong defaults (RFC 9106, low memory).
    "ARGON2": {"time_cost": 3, "memory_cost": 65536, "parallelism": 4},
    # last_used_at is written at most this often per token, in seconds.
    "LAST_USED_INTERVAL": 60,
    # How many verified secrets each process remembers (by keyed digest).
    "VERIFIED_CACHE_SIZE": 10_000,
    # Token activity older than this many days is removed by purge_token_activity.
    "ACTIVITY_RETENTION_DAYS": 180,
    # Where the site is served, for the links in emails (no trailing slash needed).
    "SITE_URL": "http://127.0.0.1:8000",
    # Wrong-secret attempts (each one an argon2 verify) allowed per token id and
    # per client address in each window of seconds, counted in this cache alias.
    "THROTTLE": {
        "FAILURES_PER_TOKEN": 10,
        "FAILURES_PER_ADDRESS": 50,
        "WINDOW": 300,
        "CACHE": "default",
    },
    # The fine-grained permissions tokens may be given, each a dict with code,
    # label, group and optional implies (see tokens_app/permissions.py).
    "PERMISSIONS": [],
}


@dataclass(frozen=True)
class Policy:
    prefix: str
    expiration_presets: tuple[int, ...]
    default_expiration: int
    max_lifetime_days: int
    allow_no_expiration: bool
    expiring_soon_days: int
    max_tokens_per_user: int
    argon2: dict[str, int] = field(hash=False)
    last_used_interval: int
    verified_cache_size: int
    activity_retention_days: int
    site_url: str
    throttle: dict[str, Any] = field(hash=False)


def raw_setting() -> dict[str, Any]:
    value = getattr(settings, "ACCESS_TOKENS", {})
    return value if isinstance(value, dict) else {}


@functools.cache
def policy() -> Policy:
    merged = {**DEFAULTS, **raw_setting()}
    argon2 = {**DEFAULTS["ARGON2"], **merged["ARGON2"]}
    return Policy(
        prefix=merged["PREFIX"],
        expiration_presets=tuple(merged["EXPIRATION_PRESETS"]),
        default_expiration=merged["DEFAULT_EXPIRATION"],
        max_lifetime_days=merged["MAX_LIFETIME_DAYS"],
        allow_no_expiration=merged["ALLOW_NO_EXPIRATION"],
        expiring_soon_days=merged["EXPIRING_SOON_DAYS"],
        max_tokens_per_user=merged["MAX_TOKENS_PER_USER"],
        argon2=argon2,
        last_used_interval=merged["LAST_USED_INTERVAL"],
        verified_cache_size=merged["VERIFIED_CACHE_SIZE"],
        activity_retention_days=merged["ACTIVITY_RETENTION_DAYS"],
        site_url=merged["SITE_URL"],
        throttle={**DEFAULTS["THROTTLE"], **merged["THROTTLE"]},
    )


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting in {"ACCESS_TOKENS", "SECRET_KEY"}:
        policy.cache_clear()
