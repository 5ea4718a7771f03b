"""Edit a token's name and permissions, inline with htmx or on its own page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MakeToken, bearer
from tokens_app.models import FULL_ACCESS, AccessToken

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_it_requires_login(client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    response = client.post(f"/tokens/{token.pk}/edit/", {"name": "x", "permissions": "none"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    token.refresh_from_db()
    assert token.name == "ci-deploy"


def test_without_htmx_get_is_a_full_page_with_the_form(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    response = owner_client.get(f"/tokens/{token.pk}/edit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>Edit ci-deploy" in body
    assert "<html" in body
    assert 'name="name" value="ci-deploy"' in body
    assert "regenerate the token" in body
    assert 'name="expiration"' not in body
    assert "HX-Request" in response["Vary"]


def test_htmx_get_gets_the_edit_row_partial(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    response = owner_client.get(f"/tokens/{token.pk}/edit/", headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith(f'<tr id="token-{token.pk}" class="token-row editing">')
    assert 'aria-label="Save token ci-deploy"' in body
    assert 'aria-label="Cancel editing token ci-deploy"' in body
    assert "HX-Request" in response["Vary"]


def test_htmx_save_returns_the_updated_row_and_announces_it(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(full_access=True)
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "  renamed  ", "permissions": "none"}, headers=HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="token-{token.pk}" class="token-row">')
    assert "renamed" in body and "No Access" in body
    assert json.loads(response["HX-Trigger"]) == {
        "tokens:status": {"message": "Token “renamed” saved."}
    }
    token.refresh_from_db()
    assert token.name == "renamed"
    assert token.permissions == []


def test_without_htmx_save_redirects_to_the_list_with_a_message(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(full_access=False)
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "renamed", "permissions": "full"}, follow=True
    )
    assert response.redirect_chain == [("/tokens/", 302)]
    assert "Token “renamed” saved." in response.content.decode()
    token.refresh_from_db()
    assert token.permissions == [FULL_ACCESS]


def test_the_secret_identifier_and_expiry_survive_an_edit(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    before = AccessToken.objects.values("public_id", "secret_hash", "expires_at").get(pk=token.pk)
    owner_client.post(f"/tokens/{token.pk}/edit/", {"name": "renamed", "permissions": "full"})
    after = AccessToken.objects.values("public_id", "secret_hash", "expires_at").get(pk=token.pk)
    assert after == before
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_invalid_input_is_shown_in_place_and_nothing_changes(
    owner_client: Client, make_token: MakeToken, headers: dict[str, str]
) -> None:
    token, _ = make_token()
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "   ", "permissions": "none"}, headers=headers
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Enter a name for the token." in body
    assert ("<html" in body) is not bool(headers)
    assert "HX-Trigger" not in response
    token.refresh_from_db()
    assert token.name == "ci-deploy"
    assert token.permissions == [FULL_ACCESS]


def test_an_unknown_permission_level_is_refused(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "x", "permissions": "root"}, headers=HTMX
    )
    assert response.status_code == 200
    assert "errors" in response.content.decode()
    token.refresh_from_db()
    assert token.name == "ci-deploy"


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_returns_404_for_other_users_token(
    owner_client: Client, make_token: MakeToken, other_user: Any, method: str
) -> None:
    token, _ = make_token(user=other_user, name="theirs")
    response = getattr(owner_client, method)(
        f"/tokens/{token.pk}/edit/", {"name": "mine now", "permissions": "none"}, headers=HTMX
    )
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.name == "theirs"
    assert token.permissions == [FULL_ACCESS]


def test_it_rejects_other_methods(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    assert owner_client.put(f"/tokens/{token.pk}/edit/").status_code == 405
    assert owner_client.delete(f"/tokens/{token.pk}/edit/").status_code == 405


def test_it_enforces_csrf(csrf_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    response = csrf_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "renamed", "permissions": "none"}, headers=HTMX
    )
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.name == "ci-deploy"


def test_the_row_partial_restores_the_row_for_cancel(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    response = owner_client.get(f"/tokens/{token.pk}/row/", headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tr id="token-{token.pk}" class="token-row">')
    assert 'aria-label="Edit token ci-deploy"' in body
    assert "HX-Request" in response["Vary"]


def test_the_row_url_without_htmx_goes_back_to_the_list(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    response = owner_client.get(f"/tokens/{token.pk}/row/")
    assert response.status_code == 302
    assert response["Location"] == "/tokens/"


def test_the_row_url_is_get_only_and_404s_for_other_users(
    owner_client: Client, make_token: MakeToken, other_user: Any
) -> None:
    mine, _ = make_token()
    theirs, _ = make_token(user=other_user)
    assert owner_client.post(f"/tokens/{mine.pk}/row/", headers=HTMX).status_code == 405
    assert owner_client.get(f"/tokens/{theirs.pk}/row/", headers=HTMX).status_code == 404
