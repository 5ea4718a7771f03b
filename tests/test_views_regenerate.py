"""Regenerate: a new secret and expiry, shown once; the old secret dies at once."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MakeToken, bearer, shown_secret
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def regenerate_data(token: AccessToken, **overrides: str) -> dict[str, str]:
    data = {"expiration": "60", "generation": str(token.generation)}
    data.update(overrides)
    return data


def test_it_requires_login(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    response = client.post(f"/tokens/{token.pk}/regenerate/", regenerate_data(token))
    assert response.status_code == 302
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


def test_get_is_a_confirm_page_that_changes_nothing(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = owner_client.get(f"/tokens/{token.pk}/regenerate/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Regenerate “ci-deploy”?" in body
    assert "will stop working at once" in body
    for days in (7, 30, 60, 90, 180):
        assert f'<option value="{days}"' in body
    assert 'value="custom"' in body and 'type="date"' in body
    assert f'name="generation" value="{token.generation}"' in body
    assert AccessToken.objects.get(pk=token.pk).generation == token.generation
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_old_secret_gets_401_and_the_new_one_200(
    owner_client: Client, make_token: MakeToken, headers: dict[str, str]
) -> None:
    token, old = make_token()
    assert Client().get("/api/v1/user", **bearer(old)).status_code == 200
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/", regenerate_data(token), headers=headers
    )
    assert response.status_code == 200
    new = shown_secret(response.content)
    assert new is not None and new != old
    assert new.startswith(token.identifier + "_")
    assert Client().get("/api/v1/user", **bearer(old)).status_code == 401
    assert Client().get("/api/v1/user", **bearer(new)).status_code == 200


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_response_with_the_secret_is_never_stored(
    owner_client: Client, make_token: MakeToken, headers: dict[str, str]
) -> None:
    token, _ = make_token()
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/", regenerate_data(token), headers=headers
    )
    assert "no-store" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]


def test_it_keeps_identity_and_sets_the_new_expiry(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    before = AccessToken.objects.get(pk=token.pk)
    owner_client.post(f"/tokens/{token.pk}/regenerate/", regenerate_data(token))
    after = AccessToken.objects.get(pk=token.pk)
    assert (after.public_id, after.name, after.permissions, after.created_at) == (
        before.public_id,
        before.name,
        before.permissions,
        before.created_at,
    )
    assert after.secret_hash != before.secret_hash
    expected = timezone.now() + datetime.timedelta(days=60)
    assert abs((after.expires_at - expected).total_seconds()) < 60


def test_a_custom_date_is_accepted(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    day = timezone.localdate() + datetime.timedelta(days=100)
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/",
        regenerate_data(token, expiration="custom", expires_on=day.isoformat()),
    )
    assert response.status_code == 200
    assert AccessToken.objects.get(pk=token.pk).expires_at.date() == day


def test_htmx_gets_the_secret_panel_and_the_updated_row_out_of_band(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/", regenerate_data(token), headers=HTMX
    )
    body = response.content.decode()
    assert "<html" not in body
    assert ">New access token</label>" in body
    assert ">Copy</button>" in body
    assert "will not be shown again" in body
    assert f'<tr id="token-{token.pk}" class="token-row" hx-swap-oob="outerHTML">' in body
    # The row's fresh dialog carries the new generation, so it can regenerate again.
    assert f'name="generation" value="{token.generation + 1}"' in body
    event = json.loads(response["HX-Trigger"])["tokens:status"]
    assert event["message"].startswith("Token “ci-deploy” regenerated.")
    assert shown_secret(response.content) not in response["HX-Trigger"]


def test_without_htmx_the_list_page_shows_the_secret(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    response = owner_client.post(f"/tokens/{token.pk}/regenerate/", regenerate_data(token))
    body = response.content.decode()
    assert "<h1>Access Tokens</h1>" in body
    assert "Token “ci-deploy” regenerated" in body
    secret = shown_secret(response.content)
    assert secret
    assert secret not in owner_client.get("/tokens/").content.decode()


def test_an_expired_token_comes_back_to_life(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token(state="expired")
    response = owner_client.post(f"/tokens/{token.pk}/regenerate/", regenerate_data(token))
    new = shown_secret(response.content)
    assert new
    assert not AccessToken.objects.get(pk=token.pk).is_expired()
    assert Client().get("/api/v1/user", **bearer(new)).status_code == 200


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_a_stale_form_is_refused_and_the_current_secret_keeps_working(
    owner_client: Client, make_token: MakeToken, headers: dict[str, str]
) -> None:
    token, _ = make_token()
    stale = regenerate_data(token)
    current = shown_secret(owner_client.post(f"/tokens/{token.pk}/regenerate/", stale).content)
    response = owner_client.post(f"/tokens/{token.pk}/regenerate/", stale, headers=headers)
    assert response.status_code == 200
    body = response.content.decode()
    assert "regenerated elsewhere" in body
    assert shown_secret(response.content) is None
    assert "no-store" not in response.get("Cache-Control", "")
    assert Client().get("/api/v1/user", **bearer(current or "")).status_code == 200
    assert AccessToken.objects.get(pk=token.pk).generation == token.generation + 1


def test_htmx_errors_replace_the_form_inside_the_dialog(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/",
        regenerate_data(token, expiration="custom", expires_on="2000-01-01"),
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#regenerate-form-{token.pk}"
    assert response["HX-Reswap"] == "outerHTML"
    body = response.content.decode()
    assert body.lstrip().startswith(f'<form id="regenerate-form-{token.pk}"')
    assert "must be in the future" in body
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


def test_a_date_beyond_the_maximum_lifetime_is_refused(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    day = timezone.localdate() + datetime.timedelta(days=400)
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/",
        regenerate_data(token, expiration="custom", expires_on=day.isoformat()),
    )
    assert response.status_code == 200
    assert "at most 366 days" in response.content.decode()
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


def test_a_missing_generation_is_refused(owner_client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    response = owner_client.post(f"/tokens/{token.pk}/regenerate/", {"expiration": "30"})
    assert response.status_code == 200
    assert "out of date" in response.content.decode()
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_returns_404_for_other_users_token(
    owner_client: Client, make_token: MakeToken, other_user: Any, method: str
) -> None:
    token, secret = make_token(user=other_user)
    response = getattr(owner_client, method)(
        f"/tokens/{token.pk}/regenerate/", regenerate_data(token), headers=HTMX
    )
    assert response.status_code == 404
    assert AccessToken.objects.get(pk=token.pk).secret_hash == token.secret_hash
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


def test_it_rejects_other_methods(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    assert owner_client.put(f"/tokens/{token.pk}/regenerate/").status_code == 405
    assert owner_client.patch(f"/tokens/{token.pk}/regenerate/").status_code == 405


def test_it_enforces_csrf(csrf_client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    response = csrf_client.post(f"/tokens/{token.pk}/regenerate/", regenerate_data(token))
    assert response.status_code == 403
    assert AccessToken.objects.get(pk=token.pk).secret_hash == token.secret_hash
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


def test_the_list_row_offers_a_regenerate_dialog(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    body = owner_client.get("/tokens/").content.decode()
    assert f'<dialog id="regenerate-{token.pk}"' in body
    assert 'aria-label="Regenerate token ci-deploy"' in body
    assert f'href="/tokens/{token.pk}/regenerate/"' in body


def test_reviving_an_expired_token_over_the_limit_is_a_message_not_an_error(
    owner_client: Client, make_token: MakeToken, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_TOKENS_PER_USER": 1}
    old, _ = make_token(name="old", state="expired")
    make_token(name="live")
    response = owner_client.post(f"/tokens/{old.pk}/regenerate/", regenerate_data(old))
    assert response.status_code == 200
    assert "limit of active tokens" in response.content.decode()
    assert shown_secret(response.content) is None
    assert AccessToken.objects.get(pk=old.pk).is_expired()
