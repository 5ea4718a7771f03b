"""Delete: confirm, then the row goes and the token gets 401 from then on."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.conftest import MakeToken, bearer
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_it_requires_login(client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    response = client.post(f"/tokens/{token.pk}/delete/")
    assert response.status_code == 302
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_get_is_a_confirm_page_that_deletes_nothing(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = owner_client.get(f"/tokens/{token.pk}/delete/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete “ci-deploy”?" in body
    assert "will lose access immediately" in body
    assert token.identifier in body
    assert f'action="/tokens/{token.pk}/delete/"' in body
    assert 'aria-label="Delete token ci-deploy"' in body
    assert AccessToken.objects.filter(pk=token.pk).exists()
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


def test_htmx_delete_returns_an_empty_swap_and_announces_it(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = owner_client.post(f"/tokens/{token.pk}/delete/", headers=HTMX)
    assert response.status_code == 200
    assert response.content == b""
    assert json.loads(response["HX-Trigger"]) == {
        "tokens:status": {
            "message": "Token “ci-deploy” deleted. Anything using it has lost access."
        }
    }
    assert "HX-Request" in response["Vary"]
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 401


def test_without_htmx_delete_redirects_with_a_message(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = owner_client.post(f"/tokens/{token.pk}/delete/", follow=True)
    assert response.redirect_chain == [("/tokens/", 302)]
    body = response.content.decode()
    assert "Token “ci-deploy” deleted." in body
    assert f'id="token-{token.pk}"' not in body
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 401


def test_a_second_delete_is_a_404(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    owner_client.post(f"/tokens/{token.pk}/delete/")
    assert owner_client.post(f"/tokens/{token.pk}/delete/").status_code == 404


def test_it_deletes_only_that_token(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    keep, keep_secret = make_token(name="keep-me")
    owner_client.post(f"/tokens/{token.pk}/delete/", headers=HTMX)
    assert list(AccessToken.objects.values_list("pk", flat=True)) == [keep.pk]
    assert Client().get("/api/v1/user", **bearer(keep_secret)).status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_returns_404_for_other_users_token(
    owner_client: Client, make_token: MakeToken, other_user: Any, method: str
) -> None:
    token, secret = make_token(user=other_user)
    response = getattr(owner_client, method)(f"/tokens/{token.pk}/delete/", headers=HTMX)
    assert response.status_code == 404
    assert AccessToken.objects.filter(pk=token.pk).exists()
    assert Client().get("/api/v1/user", **bearer(secret)).status_code == 200


def test_it_rejects_other_methods(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    assert owner_client.delete(f"/tokens/{token.pk}/delete/").status_code == 405
    assert owner_client.put(f"/tokens/{token.pk}/delete/").status_code == 405
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_it_enforces_csrf(csrf_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    assert csrf_client.post(f"/tokens/{token.pk}/delete/", headers=HTMX).status_code == 403
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_htmx_sends_the_csrf_token_from_the_body(
    csrf_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    page = csrf_client.get("/tokens/").content.decode()
    marker = '<body hx-headers=\'{"X-CSRFToken": "'
    assert marker in page
    csrf = page.split(marker, 1)[1].split('"', 1)[0]
    response = csrf_client.post(
        f"/tokens/{token.pk}/delete/", headers={**HTMX, "X-CSRFToken": csrf}
    )
    assert response.status_code == 200
    assert not AccessToken.objects.filter(pk=token.pk).exists()
