"""The ACCESS_TOKENS system checks: each mistake gets one clear message."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tokens_app.checks import check_access_tokens_setting


def errors_for(settings: Any, **values: Any) -> list[tuple[str, str]]:
    settings.ACCESS_TOKENS = values
    return [(error.id, error.msg) for error in check_access_tokens_setting()]


def test_the_defaults_pass(settings: Any) -> None:
    assert errors_for(settings) == []


@pytest.mark.django_db
def test_the_demo_settings_pass() -> None:
    call_command("check")


def test_an_unknown_key_is_named_with_the_known_ones(settings: Any) -> None:
    settings.ACCESS_TOKENS = {"MAX_TOKEN_PER_USER": 5}
    [error] = check_access_tokens_setting()
    assert error.id == "tokens_app.E001"
    assert "'MAX_TOKEN_PER_USER'" in error.msg
    assert "MAX_TOKENS_PER_USER" in error.hint


def test_a_setting_that_is_not_a_dict_is_refused(settings: Any) -> None:
    settings.ACCESS_TOKENS = ["PREFIX", "x"]
    assert [error.id for error in check_access_tokens_setting()] == ["tokens_app.E000"]


@pytest.mark.parametrize("prefix", ["", "dj-pat", "dj pat", "a" * 21, "déjà", 7])
def test_a_prefix_outside_the_token_alphabet_is_refused(settings: Any, prefix: Any) -> None:
    [(code, message)] = errors_for(settings, PREFIX=prefix)
    assert code == "tokens_app.E002"
    assert "A-Z, a-z, 0-9 and _" in message


@pytest.mark.parametrize("prefix", ["x", "my_app", "A" * 20])
def test_a_prefix_in_the_alphabet_passes(settings: Any, prefix: str) -> None:
    assert errors_for(settings, PREFIX=prefix) == []


def test_a_default_preset_beyond_the_maximum_lifetime_is_refused(settings: Any) -> None:
    errors = errors_for(settings, MAX_LIFETIME_DAYS=60, EXPIRATION_PRESETS=[7, 30, 90])
    assert errors == [
        (
            "tokens_app.E003",
            "ACCESS_TOKENS offers expirations of 90 days, beyond MAX_LIFETIME_DAYS (60).",
        )
    ]


def test_a_default_expiration_beyond_the_maximum_is_refused_too(settings: Any) -> None:
    errors = errors_for(
        settings, MAX_LIFETIME_DAYS=20, EXPIRATION_PRESETS=[7, 14, 30], DEFAULT_EXPIRATION=30
    )
    assert [code for code, _ in errors] == ["tokens_app.E003"]
    assert "30 days" in errors[0][1]


def test_a_default_that_is_not_a_preset_is_refused(settings: Any) -> None:
    errors = errors_for(settings, EXPIRATION_PRESETS=[7, 14], DEFAULT_EXPIRATION=10)
    assert errors == [
        (
            "tokens_app.E004",
            "ACCESS_TOKENS['DEFAULT_EXPIRATION'] (10) must be one of EXPIRATION_PRESETS (7, 14).",
        )
    ]


@pytest.mark.parametrize("presets", [[], "30", [7, 0], [7, "30"], [7, 2.5], None])
def test_presets_must_be_a_list_of_whole_days(settings: Any, presets: Any) -> None:
    [(code, message)] = errors_for(settings, EXPIRATION_PRESETS=presets)
    assert code == "tokens_app.E006"
    assert "non-empty list of whole days" in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MAX_TOKENS_PER_USER", 0),
        ("MAX_TOKENS_PER_USER", "50"),
        ("MAX_TOKENS_PER_USER", True),
        ("MAX_LIFETIME_DAYS", -1),
        ("LAST_USED_INTERVAL", 1.5),
        ("EXPIRING_SOON_DAYS", None),
        ("VERIFIED_CACHE_SIZE", -5),
    ],
)
def test_counts_must_be_whole_numbers_in_range(settings: Any, key: str, value: Any) -> None:
    errors = errors_for(settings, **{key: value})
    assert ("tokens_app.E005", f"ACCESS_TOKENS[{key!r}] must be a whole number") in [
        (code, message.split(" of at least")[0]) for code, message in errors
    ]


def test_allow_no_expiration_must_be_a_boolean(settings: Any) -> None:
    assert errors_for(settings, ALLOW_NO_EXPIRATION="yes") == [
        (
            "tokens_app.E007",
            "ACCESS_TOKENS['ALLOW_NO_EXPIRATION'] must be True or False, not 'yes'.",
        )
    ]
    assert errors_for(settings, ALLOW_NO_EXPIRATION=True) == []


@pytest.mark.parametrize(
    ("argon2", "fragment"),
    [
        ("fast", "must be a dict"),
        ({"time_cost": 1, "salt_len": 8}, "unknown key 'salt_len'"),
        ({"time_cost": 0}, "['time_cost'] must be a whole number of at least 1"),
        ({"parallelism": "4"}, "['parallelism'] must be a whole number"),
        ({"memory_cost": 8, "parallelism": 2}, "at least 8 KiB per lane"),
    ],
)
def test_argon2_parameters_are_checked(settings: Any, argon2: Any, fragment: str) -> None:
    [(code, message)] = errors_for(settings, ARGON2=argon2)
    assert code == "tokens_app.E008"
    assert fragment in message


def test_a_partial_argon2_override_passes(settings: Any) -> None:
    assert errors_for(settings, ARGON2={"time_cost": 4}) == []


@pytest.mark.django_db
def test_manage_py_check_fails_with_the_message(settings: Any) -> None:
    settings.ACCESS_TOKENS = {"PREFIX": "bad-prefix"}
    with pytest.raises(SystemCheckError, match=r"tokens_app\.E002"):
        call_command("check")
