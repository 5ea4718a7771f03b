"""System checks for the ACCESS_TOKENS setting: mistakes fail at start-up, clearly."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from tokens_app.conf import DEFAULTS, raw_setting
from tokens_app.format import PREFIX_PATTERN


@register()
def check_access_tokens_setting(**kwargs: Any) -> list[Error]:
    setting = raw_setting()
    errors: list[Error] = []
    for key in sorted(set(setting) - set(DEFAULTS)):
        errors.append(
            Error(
                f"ACCESS_TOKENS has an unknown key {key!r}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="tokens_app.E001",
            )
        )
    merged = {**DEFAULTS, **setting}
    prefix = merged["PREFIX"]
    if not isinstance(prefix, str) or not PREFIX_PATTERN.fullmatch(prefix):
        errors.append(
            Error(
                f"ACCESS_TOKENS['PREFIX'] {prefix!r} must be 1 to 20 characters from "
                "A-Z, a-z, 0-9 and _.",
                hint="Tokens use only that alphabet, so a double-click selects them whole.",
                id="tokens_app.E002",
            )
        )
    max_days = merged["MAX_LIFETIME_DAYS"]
    too_long = [days for days in merged["EXPIRATION_PRESETS"] if days > max_days]
    if merged["DEFAULT_EXPIRATION"] > max_days or too_long:
        errors.append(
            Error(
                f"ACCESS_TOKENS offers expirations beyond MAX_LIFETIME_DAYS ({max_days}).",
                hint="Lower DEFAULT_EXPIRATION and EXPIRATION_PRESETS, or raise MAX_LIFETIME_DAYS.",
                id="tokens_app.E003",
            )
        )
    if merged["DEFAULT_EXPIRATION"] not in merged["EXPIRATION_PRESETS"]:
        errors.append(
            Error(
                "ACCESS_TOKENS['DEFAULT_EXPIRATION'] must be one of EXPIRATION_PRESETS.",
                id="tokens_app.E004",
            )
        )
    return errors
