"""The permission choice on the New and Edit pages: No Access, Full Access or Custom."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MakeToken, create_form_data
from tokens_app.forms import TokenCreateForm, TokenEditForm
from tokens_app.models import FULL_ACCESS, AccessToken

pytestmark = pytest.mark.django_db


def checked_codes(body: str) -> set[str]:
    return set(re.findall(r'name="permission_codes" value="([^"]+)"[^>]*\bchecked', body))


def test_new_offers_custom_with_the_declared_permissions_grouped(owner_client: Client) -> None:
    body = owner_client.get("/tokens/new/").content.decode()
    assert 'value="custom" id="id_permissions_2"' in body
    assert ">Custom</label>" in body
    assert "<legend>Profile</legend>" in body
    assert "<legend>Access tokens</legend>" in body
    assert body.index("<legend>Profile</legend>") < body.index("<legend>Access tokens</legend>")
    for code in ("profile:read", "profile:write", "tokens:read", "tokens:write"):
        assert f'type="checkbox" name="permission_codes" value="{code}"' in body
    assert "Update your profile <code>profile:write</code>" in body
    assert "Includes Read your profile." in body
    assert checked_codes(body) == set()


def test_the_page_has_no_inline_script_or_style(owner_client: Client) -> None:
    body = owner_client.get("/tokens/new/").content.decode()
    assert " style=" not in body
    assert " onclick=" not in body and " onchange=" not in body


def test_custom_creates_a_token_with_the_codes_and_what_they_imply(
    owner_client: Client, owner: Any
) -> None:
    data = create_form_data(owner_client, permissions="custom")
    data["permission_codes"] = ["profile:write", "tokens:read"]
    response = owner_client.post("/tokens/new/", data)
    assert response.status_code == 200
    token = AccessToken.objects.get(owner=owner)
    assert token.permissions == ["profile:read", "profile:write", "tokens:read"]
    assert "Permissions: profile:read, profile:write, tokens:read." in response.content.decode()


def test_custom_without_any_code_is_refused_clearly(owner_client: Client) -> None:
    response = owner_client.post(
        "/tokens/new/", create_form_data(owner_client, permissions="custom")
    )
    assert response.status_code == 200
    assert "Choose at least one permission, or pick No Access." in response.content.decode()
    assert not AccessToken.objects.exists()


def test_an_undeclared_code_is_refused_by_name(owner_client: Client) -> None:
    data = create_form_data(owner_client, permissions="custom")
    data["permission_codes"] = ["profile:read", "billing:write"]
    response = owner_client.post("/tokens/new/", data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "“billing:write” is not a permission this site declares." in body
    assert 'id="id_permission_codes_error"' in body
    assert not AccessToken.objects.exists()


def test_codes_are_ignored_unless_custom_is_chosen(owner_client: Client, owner: Any) -> None:
    data = create_form_data(owner_client, permissions="none")
    data["permission_codes"] = ["profile:read"]
    assert owner_client.post("/tokens/new/", data).status_code == 200
    assert AccessToken.objects.get(owner=owner).permissions == []


def test_full_access_stays_full_access(owner_client: Client, owner: Any) -> None:
    owner_client.post("/tokens/new/", create_form_data(owner_client, permissions="full"))
    assert AccessToken.objects.get(owner=owner).permissions == [FULL_ACCESS]


def test_the_edit_page_shows_custom_chosen_with_the_tokens_codes(
    owner_client: Client, owner: Any
) -> None:
    token, _ = AccessToken.objects.issue(
        owner=owner,
        name="scoped",
        permissions=["tokens:write", "tokens:read"],
        expires_at=timezone.now() + datetime.timedelta(days=3),
    )
    body = owner_client.get(f"/tokens/{token.pk}/edit/").content.decode()
    assert f'value="custom" id="edit-{token.pk}-permissions_2"' in body
    assert re.search(rf'value="custom" id="edit-{token.pk}-permissions_2"[^>]*checked', body)
    assert checked_codes(body) == {"tokens:read", "tokens:write"}


def test_edit_switches_a_token_to_custom(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/",
        {"name": "narrowed", "permissions": "custom", "permission_codes": ["profile:read"]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert (token.name, token.permissions) == ("narrowed", ["profile:read"])


def test_edit_refuses_an_undeclared_code_and_changes_nothing(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/",
        {"name": "renamed", "permissions": "custom", "permission_codes": ["admin:all"]},
    )
    assert response.status_code == 200
    assert "“admin:all” is not a permission this site declares." in response.content.decode()
    token.refresh_from_db()
    assert (token.name, token.permissions) == ("ci-deploy", [FULL_ACCESS])


def test_the_list_shows_a_compact_summary(owner_client: Client, owner: Any) -> None:
    data = create_form_data(owner_client, permissions="custom", name="reader")
    data["permission_codes"] = ["tokens:write"]
    owner_client.post("/tokens/new/", data)
    body = owner_client.get("/tokens/").content.decode()
    assert '<td data-label="Permissions">tokens:read, tokens:write</td>' in body


def test_without_declared_permissions_custom_is_not_offered(
    owner_client: Client, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": []}
    body = owner_client.get("/tokens/new/").content.decode()
    assert 'value="custom" id="id_permissions' not in body
    assert 'name="permission_codes"' not in body
    form = TokenCreateForm(
        {"name": "x", "expiration": "30", "permissions": "custom", "nonce": "0" * 32}
    )
    assert not form.is_valid()
    assert form.errors["permissions"] == ["Choose No Access or Full Access."]


def test_the_edit_form_reads_a_removed_code_as_no_access(make_token: MakeToken) -> None:
    token, _ = make_token()
    token.permissions = ["gone:read"]
    form = TokenEditForm.for_token(token)
    assert form.initial["permissions"] == "none"
    assert form.initial["permission_codes"] == []
