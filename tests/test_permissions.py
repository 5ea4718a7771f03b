"""The declared permissions: the registry, what tokens hold, and enforcement at use."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from tests.conftest import bearer
from tokens_app import permissions as registry
from tokens_app.checks import check_declared_permissions, check_tokens_hold_declared_permissions
from tokens_app.models import FULL_ACCESS, AccessToken

DEMO = [
    {"code": "profile:read", "label": "Read your profile", "group": "Profile"},
    {
        "code": "profile:write",
        "label": "Update your profile",
        "group": "Profile",
        "implies": ["profile:read"],
    },
    {"code": "tokens:read", "label": "List your access tokens", "group": "Access tokens"},
    {
        "code": "tokens:write",
        "label": "Change your access tokens",
        "group": "Access tokens",
        "implies": ["tokens:read"],
    },
]


@pytest.fixture(autouse=True)
def _demo_permissions(settings: Any) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": DEMO}


def issue(owner: Any, permissions: list[str]) -> tuple[AccessToken, str]:
    return AccessToken.objects.issue(
        owner=owner,
        name="scoped",
        permissions=permissions,
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )


# -- the registry ---------------------------------------------------------------


def test_it_reads_codes_labels_and_groups_in_setting_order() -> None:
    groups = registry.groups()
    assert [group.name for group in groups] == ["Profile", "Access tokens"]
    assert [p.code for p in groups[0].permissions] == ["profile:read", "profile:write"]
    assert registry.get("tokens:write").label == "Change your access tokens"
    assert registry.get("tokens:write").implies == ("tokens:read",)


def test_write_implies_read() -> None:
    assert registry.expand(["profile:write"]) == ["profile:read", "profile:write"]
    assert registry.validate(["tokens:write"]) == ["tokens:read", "tokens:write"]


def test_it_refuses_an_undeclared_code_by_name() -> None:
    with pytest.raises(ValidationError) as raised:
        registry.validate(["profile:read", "billing:write"])
    assert raised.value.code == "unknown_permission"
    assert "“billing:write”" in raised.value.messages[0]


def test_full_access_must_be_sent_alone() -> None:
    assert registry.validate(["*"]) == ["*"]
    with pytest.raises(ValidationError) as raised:
        registry.validate(["*", "profile:read"])
    assert raised.value.code == "full_access_alone"


@pytest.mark.parametrize("value", ["profile:read", [1], None, {"code": "x"}])
def test_it_refuses_what_is_not_a_list_of_codes(value: Any) -> None:
    with pytest.raises(ValidationError) as raised:
        registry.validate(value)
    assert raised.value.code == "invalid"


def test_a_malformed_setting_declares_nothing_and_says_why(settings: Any) -> None:
    bad = [{"code": "a:read", "label": "A"}, {"code": "a:read", "label": "A", "group": "A"}]
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": bad}
    assert registry.declared() == ()
    assert registry.problems(bad) == [
        "'a:read' needs a non-empty group.",
        "The code 'a:read' is declared twice.",
    ]


def test_a_changed_setting_takes_effect_at_once(settings: Any) -> None:
    assert "tokens:read" in registry.codes()
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": DEMO[:2]}
    assert registry.codes() == {"profile:read", "profile:write"}


# -- what a token holds -----------------------------------------------------------


@pytest.mark.django_db
def test_a_custom_token_holds_its_codes_and_what_they_imply(owner: Any) -> None:
    token, _ = issue(owner, ["profile:write"])
    assert token.effective_permissions == ["profile:read", "profile:write"]
    assert token.has_permission("profile:read")
    assert not token.has_permission("tokens:read")
    assert token.permissions_label == "profile:read, profile:write"
    assert [(g.name, [p.code for p in g.permissions]) for g in token.permission_groups] == [
        ("Profile", ["profile:read", "profile:write"])
    ]


@pytest.mark.django_db
def test_full_access_includes_permissions_declared_later(owner: Any, settings: Any) -> None:
    token, _ = issue(owner, [FULL_ACCESS])
    declared_later = [*DEMO, {"code": "billing:read", "label": "Billing", "group": "Billing"}]
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": declared_later}
    assert token.has_permission("billing:read")
    assert [g.name for g in token.permission_groups] == ["Profile", "Access tokens", "Billing"]


@pytest.mark.django_db
def test_a_code_removed_from_the_setting_is_lost_quietly(owner: Any, settings: Any) -> None:
    token, _ = issue(owner, ["profile:read", "tokens:read"])
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": DEMO[:2]}
    token.refresh_from_db()
    assert token.permissions == ["profile:read", "tokens:read"]
    assert token.effective_permissions == ["profile:read"]
    assert not token.has_permission("tokens:read")
    assert token.permissions_label == "profile:read"


@pytest.mark.django_db
def test_a_token_whose_every_code_was_removed_has_no_access(owner: Any, settings: Any) -> None:
    token, _ = issue(owner, ["tokens:read"])
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": DEMO[:2]}
    assert token.has_no_access
    assert token.permissions_label == "No Access"


# -- enforcement --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_read_token_may_read_the_profile(client: Client, owner: Any) -> None:
    _, secret = issue(owner, ["profile:read"])
    response = client.get("/api/v1/user", **bearer(secret))
    assert response.status_code == 200
    assert response.json()["username"] == "owner"


@pytest.mark.django_db
def test_a_read_token_may_not_write_and_is_told_the_missing_permission(
    client: Client, owner: Any
) -> None:
    _, secret = issue(owner, ["profile:read"])
    response = client.patch(
        "/api/v1/user", json.dumps({"first_name": "Ada"}), "application/json", **bearer(secret)
    )
    assert response.status_code == 403
    assert (
        response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="profile:write"'
    )
    assert response.json()["scope"] == "profile:write"
    owner.refresh_from_db()
    assert owner.first_name == ""


@pytest.mark.django_db
def test_a_write_token_may_update_the_profile_and_read_it(client: Client, owner: Any) -> None:
    _, secret = issue(owner, ["profile:write"])
    response = client.patch(
        "/api/v1/user",
        json.dumps({"first_name": "Ada", "last_name": "Lovelace"}),
        "application/json",
        **bearer(secret),
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Ada Lovelace"
    owner.refresh_from_db()
    assert (owner.first_name, owner.last_name) == ("Ada", "Lovelace")
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 200


@pytest.mark.django_db
def test_a_profile_update_with_bad_fields_changes_nothing(client: Client, owner: Any) -> None:
    _, secret = issue(owner, ["profile:write"])
    response = client.patch(
        "/api/v1/user",
        json.dumps({"first_name": "Ada", "last_name": 7}),
        "application/json",
        **bearer(secret),
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_field"
    owner.refresh_from_db()
    assert owner.first_name == ""


@pytest.mark.django_db
def test_a_session_may_not_patch_the_profile(owner_client: Client, owner: Any) -> None:
    response = owner_client.patch("/api/v1/user", json.dumps({"first_name": "Ada"}))
    assert response.status_code == 401
    owner.refresh_from_db()
    assert owner.first_name == ""


@pytest.mark.django_db
def test_a_removed_code_stops_working_at_use(client: Client, owner: Any, settings: Any) -> None:
    _, secret = issue(owner, ["profile:read"])
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": DEMO[2:]}
    response = client.get("/api/v1/user", **bearer(secret))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


# -- system checks ----------------------------------------------------------------------


def test_a_malformed_setting_fails_the_system_check(settings: Any) -> None:
    settings.ACCESS_TOKENS = {
        **settings.ACCESS_TOKENS,
        "PERMISSIONS": [{"code": "a:write", "label": "A", "group": "A", "implies": ["a:read"]}],
    }
    errors = check_declared_permissions()
    assert [error.id for error in errors] == ["tokens_app.E080"]
    assert "'a:write' implies 'a:read', which is not declared." in errors[0].msg
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": DEMO}
    assert check_declared_permissions() == []


@pytest.mark.django_db
def test_the_check_warns_about_tokens_holding_removed_codes(owner: Any, settings: Any) -> None:
    issue(owner, ["profile:read", "tokens:read"])
    issue(owner, [FULL_ACCESS])
    assert check_tokens_hold_declared_permissions(databases=["default"]) == []
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": DEMO[:1]}
    warnings = check_tokens_hold_declared_permissions(databases=["default"])
    assert [warning.id for warning in warnings] == ["tokens_app.W080"]
    assert warnings[0].msg.endswith("no longer declared: tokens:read.")
    assert check_tokens_hold_declared_permissions(databases=None) == []
