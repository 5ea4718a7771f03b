"""AccessTokenMiddleware: a lazy request.user, request.auth, the grant headers and the rules."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.utils import timezone

from tests.conftest import MakeToken, bearer
from tokens_app.auth import AccessTokenMiddleware
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db
URL = "/api/v1/user"


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def test_request_user_is_lazy_and_costs_one_query_when_read(
    make_token: MakeToken, owner: Any, django_assert_num_queries: Any
) -> None:
    _, secret = make_token()
    middleware = AccessTokenMiddleware(ok)
    first_use = RequestFactory().get("/", **bearer(secret))
    middleware.process_request(first_use)
    assert first_use.user == owner  # argon2, last_used_at and the activity log, once
    request = RequestFactory().get("/", **bearer(secret))
    with django_assert_num_queries(0):
        middleware.process_request(request)
    with django_assert_num_queries(1):
        assert request.user == owner
    with django_assert_num_queries(0):
        assert request.auth.owner == owner
        assert request.user.is_authenticated


def test_request_auth_is_the_token_itself(make_token: MakeToken) -> None:
    token, secret = make_token(name="laptop")
    request = RequestFactory().get("/", **bearer(secret))
    AccessTokenMiddleware(ok).process_request(request)
    assert isinstance(request.auth, AccessToken)
    assert request.auth.pk == token.pk
    assert request.auth.name == "laptop"
    assert request.auth.expires_at == token.expires_at


def test_a_request_without_a_bearer_header_is_left_to_the_session(owner: Any) -> None:
    request = RequestFactory().get("/")
    request.user = owner
    AccessTokenMiddleware(ok).process_request(request)
    assert request.user == owner
    assert not hasattr(request, "auth")


def test_a_valid_tokens_response_says_what_it_grants_and_until_when(
    client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    AccessToken.objects.filter(pk=token.pk).update(
        expires_at=datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    )
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 200
    assert response["X-Access-Token-Expires"] == "2031-05-06T07:08:09Z"
    assert response["X-Access-Token-Permissions"] == "*"


def test_a_no_access_token_gets_empty_permissions_on_its_403(
    client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token(full_access=False)
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 403
    assert response["X-Access-Token-Permissions"] == ""
    assert response["X-Access-Token-Expires"] == token.expires_at.astimezone(datetime.UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_fine_grained_codes_are_listed_space_separated(
    client: Client, make_token: MakeToken, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {
        **settings.ACCESS_TOKENS,
        "PERMISSIONS": [
            {"code": "profile:read", "label": "Read profile", "group": "Profile"},
            {"code": "tokens:read", "label": "Read tokens", "group": "Tokens"},
        ],
    }
    token, secret = make_token()
    AccessToken.objects.filter(pk=token.pk).update(permissions=["profile:read", "tokens:read"])
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 200
    assert sorted(response["X-Access-Token-Permissions"].split(" ")) == [
        "profile:read",
        "tokens:read",
    ]


def test_the_grant_headers_come_on_views_that_never_read_the_user(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token()
    response = client.get("/accounts/login/", **bearer(secret))
    assert response.status_code == 200
    assert response["X-Access-Token-Permissions"] == "*"


@pytest.mark.parametrize("header", ["Bearer djpat_nope", "Basic dXNlcjpwYXNz"])
def test_no_grant_headers_without_a_valid_token(client: Client, header: str) -> None:
    response = client.get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "X-Access-Token-Expires" not in response
    assert "X-Access-Token-Permissions" not in response


def test_session_responses_carry_no_grant_headers(owner_client: Client) -> None:
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert "X-Access-Token-Permissions" not in response


def test_token_auth_never_creates_a_session_even_on_a_page_that_uses_it(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token()
    for path in (URL, "/tokens/", "/tokens/new/"):
        response = client.get(path, **bearer(secret))
        assert response.status_code == 200
        assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_an_invalid_token_beats_a_valid_session(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    token.revoke()
    response = owner_client.get(URL, **bearer(secret))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_a_valid_token_beats_another_users_session(make_token: MakeToken, other_user: Any) -> None:
    _, secret = make_token()
    client = Client()
    client.force_login(other_user)
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 200
    assert response.json()["username"] == "owner"
    assert response.json()["authenticated_by"] == "token"


def test_a_token_skips_csrf_on_a_form_post(make_token: MakeToken) -> None:
    _, secret = make_token()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/tokens/new/", {"name": "x"}, **bearer(secret))
    assert response.status_code != 403


def test_a_session_post_without_csrf_is_still_refused(csrf_client: Client) -> None:
    before = AccessToken.objects.count()
    response = csrf_client.post("/tokens/new/", {"name": "via-session", "expiration": "30"})
    assert response.status_code == 403
    assert AccessToken.objects.count() == before


def test_last_used_is_written_once_per_interval(
    client: Client, make_token: MakeToken, django_assert_num_queries: Any
) -> None:
    token, secret = make_token()
    assert client.get(URL, **bearer(secret)).status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    assert token.last_used_ip == "127.0.0.1"
    with django_assert_num_queries(1):  # the lookup only: no write
        assert client.get(URL, **bearer(secret)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first


def test_last_used_is_written_again_once_the_interval_has_passed(
    client: Client, make_token: MakeToken, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "LAST_USED_INTERVAL": 60}
    token, secret = make_token()
    assert client.get(URL, **bearer(secret)).status_code == 200
    stale = timezone.now() - datetime.timedelta(seconds=61)
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    assert client.get(URL, **bearer(secret), REMOTE_ADDR="10.0.0.7").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > stale
    assert token.last_used_ip == "10.0.0.7"


def test_a_check_that_raises_runs_once_and_is_not_retried_for_the_headers(
    make_token: MakeToken, monkeypatch: Any
) -> None:
    _, secret = make_token()
    calls = []

    def broken(raw: str, request: Any = None) -> Any:
        calls.append(raw)
        raise RuntimeError("database went away")

    monkeypatch.setattr("tokens_app.auth.check_token", broken)
    response = Client(raise_request_exception=False).get(URL, **bearer(secret))
    assert response.status_code == 500
    assert len(calls) == 1


def _scoped_token(owner: Any, *codes: str) -> str:
    _, secret = AccessToken.objects.issue(
        owner=owner,
        name="scoped",
        permissions=list(codes),
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    return secret


def test_a_scoped_token_is_not_a_login_for_plain_views(owner: Any) -> None:
    secret = _scoped_token(owner, "profile:read")
    client = Client()
    response = client.get("/tokens/new/", **bearer(secret))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    response = client.post(
        "/tokens/new/",
        {"name": "escalated", "expiration": "30", "permissions": "full", "nonce": "0" * 32},
        **bearer(secret),
    )
    assert response.status_code == 302
    assert AccessToken.objects.filter(owner=owner).count() == 1


def test_a_scoped_token_of_an_admin_does_not_open_the_admin(admin_user: Any) -> None:
    secret = _scoped_token(admin_user, "profile:read", "profile:write", "tokens:write")
    response = Client().get("/admin/", **bearer(secret))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_scoped_token_acts_as_its_owner_inside_a_guard_that_admits_it(owner: Any) -> None:
    secret = _scoped_token(owner, "profile:read")
    response = Client().get(URL, **bearer(secret))
    assert response.status_code == 200
    assert response.json()["username"] == owner.get_username()


def test_a_full_access_token_is_its_owner_everywhere(owner: Any, make_token: MakeToken) -> None:
    _, secret = make_token()
    response = Client().get("/tokens/", **bearer(secret))
    assert response.status_code == 200
    assert "Access Tokens" in response.content.decode()
