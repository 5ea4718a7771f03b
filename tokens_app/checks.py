"""System checks for the ACCESS_TOKENS setting: mistakes fail at start-up, clearly.

Each check reads the raw setting merged over the defaults, and a later check
skips a key an earlier one already refused, so one mistake gives one message.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.db import DatabaseError

from tokens_app import permissions as registry
from tokens_app.conf import DEFAULTS, raw_setting
from tokens_app.format import PREFIX_PATTERN
from tokens_app.models import AccessToken

# Whole-number keys and the smallest value each accepts.
_MINIMUMS = {
    "MAX_LIFETIME_DAYS": 1,
    "DEFAULT_EXPIRATION": 1,
    "MAX_TOKENS_PER_USER": 1,
    "EXPIRING_SOON_DAYS": 0,
    "LAST_USED_INTERVAL": 0,
    "VERIFIED_CACHE_SIZE": 0,
}
_ARGON2_KEYS = {"time_cost", "memory_cost", "parallelism"}


def _is_count(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@register()
def check_access_tokens_setting(**kwargs: Any) -> list[Error]:
    value = getattr(settings, "ACCESS_TOKENS", {})
    if not isinstance(value, dict):
        return [
            Error(
                f"ACCESS_TOKENS must be a dict, not {type(value).__name__}.",
                hint="For example ACCESS_TOKENS = {'PREFIX': 'myapp'}.",
                id="tokens_app.E000",
            )
        ]
    setting = raw_setting()
    merged = {**DEFAULTS, **setting}
    errors = [
        *_unknown_keys(setting),
        *_prefix(merged["PREFIX"]),
        *_whole_numbers(merged),
        *_expirations(merged),
        *_argon2(merged["ARGON2"]),
    ]
    if not isinstance(merged["ALLOW_NO_EXPIRATION"], bool):
        errors.append(
            Error(
                "ACCESS_TOKENS['ALLOW_NO_EXPIRATION'] must be True or False, "
                f"not {merged['ALLOW_NO_EXPIRATION']!r}.",
                id="tokens_app.E007",
            )
        )
    return errors


def _unknown_keys(setting: dict[str, Any]) -> list[Error]:
    return [
        Error(
            f"ACCESS_TOKENS has an unknown key {key!r}.",
            hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
            id="tokens_app.E001",
        )
        for key in sorted(set(setting) - set(DEFAULTS), key=str)
    ]


def _prefix(prefix: Any) -> list[Error]:
    if isinstance(prefix, str) and PREFIX_PATTERN.fullmatch(prefix):
        return []
    return [
        Error(
            f"ACCESS_TOKENS['PREFIX'] {prefix!r} must be 1 to 20 characters from "
            "A-Z, a-z, 0-9 and _.",
            hint="Tokens use only that alphabet, so a double-click selects them whole.",
            id="tokens_app.E002",
        )
    ]


def _whole_numbers(merged: dict[str, Any]) -> list[Error]:
    return [
        Error(
            f"ACCESS_TOKENS[{key!r}] must be a whole number of at least {minimum}, "
            f"not {merged[key]!r}.",
            id="tokens_app.E005",
        )
        for key, minimum in _MINIMUMS.items()
        if not _is_count(merged[key], minimum)
    ]


def _expirations(merged: dict[str, Any]) -> list[Error]:
    presets, default, max_days = (
        merged["EXPIRATION_PRESETS"],
        merged["DEFAULT_EXPIRATION"],
        merged["MAX_LIFETIME_DAYS"],
    )
    if not (
        isinstance(presets, list | tuple) and presets and all(_is_count(d, 1) for d in presets)
    ):
        return [
            Error(
                "ACCESS_TOKENS['EXPIRATION_PRESETS'] must be a non-empty list of whole days "
                f"of at least 1, not {presets!r}.",
                hint="For example [7, 30, 60, 90].",
                id="tokens_app.E006",
            )
        ]
    if not (_is_count(default, 1) and _is_count(max_days, 1)):
        return []  # already reported by _whole_numbers
    errors = []
    beyond = sorted(days for days in {*presets, default} if days > max_days)
    if beyond:
        errors.append(
            Error(
                f"ACCESS_TOKENS offers expirations of {', '.join(map(str, beyond))} days, "
                f"beyond MAX_LIFETIME_DAYS ({max_days}).",
                hint="Lower DEFAULT_EXPIRATION and EXPIRATION_PRESETS, or raise MAX_LIFETIME_DAYS.",
                id="tokens_app.E003",
            )
        )
    if default not in presets:
        errors.append(
            Error(
                f"ACCESS_TOKENS['DEFAULT_EXPIRATION'] ({default}) must be one of "
                f"EXPIRATION_PRESETS ({', '.join(map(str, presets))}).",
                id="tokens_app.E004",
            )
        )
    return errors


def _argon2(params: Any) -> list[Error]:
    hint = "For example {'time_cost': 3, 'memory_cost': 65536, 'parallelism': 4}."
    if not isinstance(params, dict):
        return [
            Error(
                f"ACCESS_TOKENS['ARGON2'] must be a dict, not {type(params).__name__}.",
                hint=hint,
                id="tokens_app.E008",
            )
        ]
    errors = [
        Error(
            f"ACCESS_TOKENS['ARGON2'] has an unknown key {key!r}.",
            hint=f"Known keys: {', '.join(sorted(_ARGON2_KEYS))}.",
            id="tokens_app.E008",
        )
        for key in sorted(set(params) - _ARGON2_KEYS, key=str)
    ]
    merged = {**DEFAULTS["ARGON2"], **params}
    bad = [key for key in sorted(_ARGON2_KEYS) if not _is_count(merged[key], 1)]
    errors.extend(
        Error(
            f"ACCESS_TOKENS['ARGON2'][{key!r}] must be a whole number of at least 1, "
            f"not {merged[key]!r}.",
            hint=hint,
            id="tokens_app.E008",
        )
        for key in bad
    )
    if not bad and merged["memory_cost"] < 8 * merged["parallelism"]:
        errors.append(
            Error(
                "ACCESS_TOKENS['ARGON2']['memory_cost'] must be at least 8 KiB per lane "
                f"(8 × parallelism = {8 * merged['parallelism']}), not {merged['memory_cost']}.",
                hint="argon2 refuses smaller memory costs; 65536 (64 MiB) is a sound default.",
                id="tokens_app.E008",
            )
        )
    return errors


@register()
def check_declared_permissions(**kwargs: Any) -> list[Error]:
    """A malformed PERMISSIONS setting declares nothing at all, so say why at start-up."""
    return [
        Error(
            f"ACCESS_TOKENS['PERMISSIONS']: {problem}",
            hint="Each entry is {'code': ..., 'label': ..., 'group': ...}, optionally with "
            "'implies': [codes]. Until this is fixed no permission is declared.",
            id="tokens_app.E080",
        )
        for problem in registry.problems(registry.setting_value())
    ]


@register(Tags.database)
def check_tokens_hold_declared_permissions(
    databases: list[str] | None = None, **kwargs: Any
) -> list[CheckWarning]:
    """Tokens that still hold a code removed from the setting have quietly lost it: say so."""
    unknown: set[str] = set()
    for alias in databases or []:
        held = AccessToken.objects.using(alias).values_list("permissions", flat=True).distinct()
        try:
            for permissions in held.iterator():
                if isinstance(permissions, list):
                    unknown.update(registry.undeclared(permissions))
        except DatabaseError:  # not migrated yet
            continue
    if not unknown:
        return []
    return [
        CheckWarning(
            "Existing access tokens hold permissions that are no longer declared: "
            f"{', '.join(sorted(unknown))}.",
            hint="Those tokens have lost them: they are ignored at use. Declare them again in "
            "ACCESS_TOKENS['PERMISSIONS'], or edit the tokens.",
            id="tokens_app.W080",
        )
    ]
