"""GET /api/v1/user: the demo endpoint, and every status the bearer middleware can give."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import MakeToken, bearer
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db
URL = "/api/v1/user"


def assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "invalid_token"


def test_a_full_access_token_acts_as_its_owner(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {
        "id": response.json()["id"],
        "username": "owner",
        "email": "owner@example.com",
        "name": "",
        "authenticated_by": "token",
    }


def test_a_session_works_too(owner_client: Client) -> None:
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert response.json()["authenticated_by"] == "session"


def test_no_credentials_get_a_plain_bearer_challenge(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"


def test_a_no_access_token_gets_403_insufficient_scope(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token(full_access=False)
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 403
    assert response["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')
    assert response.json()["error"] == "insufficient_scope"


def test_an_expired_token_gets_401(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token(state="expired")
    assert_invalid_token(client.get(URL, **bearer(secret)))


def test_a_deleted_token_gets_401_even_after_it_was_used(
    client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    assert client.get(URL, **bearer(secret)).status_code == 200
    token.revoke()
    assert_invalid_token(client.get(URL, **bearer(secret)))


def test_a_regenerated_tokens_old_secret_dies_at_once(
    client: Client, make_token: MakeToken
) -> None:
    token, old = make_token()
    assert client.get(URL, **bearer(old)).status_code == 200  # now remembered as verified
    new = token.regenerate(expires_at=token.expires_at)
    assert_invalid_token(client.get(URL, **bearer(old)))
    assert client.get(URL, **bearer(new)).status_code == 200


def test_an_unknown_but_well_formed_token_gets_401(client: Client, make_token: MakeToken) -> None:
    from tokens_app import format

    token, _ = make_token()
    forged = format.build(token.prefix, token.public_id, format.new_secret())
    assert_invalid_token(client.get(URL, **bearer(forged)))


def test_an_inactive_users_token_is_refused(
    client: Client, make_token: MakeToken, owner: Any
) -> None:
    _, secret = make_token()
    owner.is_active = False
    owner.save()
    assert_invalid_token(client.get(URL, **bearer(secret)))


def test_the_scheme_is_case_insensitive(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    for scheme in ("bearer", "BEARER", "BeArEr"):
        assert client.get(URL, HTTP_AUTHORIZATION=f"{scheme} {secret}").status_code == 200


def test_a_checksum_failure_is_refused_without_a_query(
    client: Client, make_token: MakeToken, django_assert_num_queries: Any
) -> None:
    _, secret = make_token()
    with django_assert_num_queries(0):
        response = client.get(URL, **bearer(secret[:-1] + ("A" if secret[-1] != "A" else "B")))
    assert_invalid_token(response)


def test_a_hot_token_costs_one_query_and_no_argon2(
    client: Client, make_token: MakeToken, django_assert_num_queries: Any, monkeypatch: Any
) -> None:
    _, secret = make_token()
    assert client.get(URL, **bearer(secret)).status_code == 200  # first use: argon2 + last_used

    def no_argon2(*args: Any) -> bool:
        raise AssertionError("argon2 ran on the hot path")

    monkeypatch.setattr("tokens_app.models.verify_secret", no_argon2)
    with django_assert_num_queries(1):
        assert client.get(URL, **bearer(secret)).status_code == 200


def test_token_auth_creates_no_session(client: Client, make_token: MakeToken) -> None:
    from django.contrib.sessions.models import Session

    _, secret = make_token()
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 200
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_the_token_decides_over_a_session_cookie(owner_client: Client) -> None:
    response = owner_client.get(URL, HTTP_AUTHORIZATION="Bearer djpat_nope")
    assert_invalid_token(response)


@pytest.mark.parametrize("where", ["query", "form"])
def test_a_token_outside_the_header_is_refused_and_says_why(
    client: Client, make_token: MakeToken, where: str
) -> None:
    _, secret = make_token()
    if where == "query":
        response = client.get(URL, {"access_token": secret})
    else:
        response = client.generic(
            "GET",
            URL,
            f"access_token={secret}",
            content_type="application/x-www-form-urlencoded",
        )
        # A GET body is never read as a form; the same token in a POST body is refused too.
        assert response.status_code == 401
        response = client.post("/api/v1/user", {"access_token": secret})
        assert response.status_code == 405
        return
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_request"'
    assert "Authorization header" in response.json()["error_description"]


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Bearer a b",
        "Token abc",
        "Basic dXNlcjpwYXNz",
        "BearerX djpat_abc",
        "Bearer\tdjpat_abc",
        "Bearer djpat_é",
        "Bearer " + "\xff\xfe\x80" * 3,
        "Bearer " + "A" * 10_240,
        "Bearer " + "A" * 65_536,
        "Bearer $argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    ],
)
def test_no_header_value_ever_gives_a_500(client: Client, header: str) -> None:
    response = client.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"] in {"invalid_token", "unauthorized"}


def test_two_tokens_in_one_header_are_refused(client: Client, make_token: MakeToken) -> None:
    _, one = make_token(name="one")
    _, two = make_token(name="two")
    assert_invalid_token(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {one} {two}"))
    assert_invalid_token(client.get(URL, HTTP_AUTHORIZATION=f"Bearer {one},{two}"))


def test_extra_spaces_around_the_token_are_tolerated(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    assert client.get(URL, HTTP_AUTHORIZATION=f"  Bearer   {secret}  ").status_code == 200


def test_the_stored_hash_is_not_a_token(client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    stored = AccessToken.objects.get(pk=token.pk).secret_hash
    assert_invalid_token(client.get(URL, **bearer(stored)))


def test_token_requests_skip_csrf_while_session_ones_do_not(
    make_token: MakeToken, owner: Any
) -> None:
    _, secret = make_token()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/tokens/new/", {"name": "via-token"}, **bearer(secret))
    assert response.status_code == 200  # form errors (no nonce), but no CSRF refusal
    strict.force_login(owner)
    assert strict.post("/tokens/new/", {"name": "via-session"}).status_code == 403


def test_a_session_cannot_patch_and_is_told_to_use_a_token(owner_client: Client) -> None:
    response = owner_client.patch(URL, {"first_name": "X"}, content_type="application/json")
    assert response.status_code == 401
    assert "browser session is not enough" in response.json()["error_description"]
