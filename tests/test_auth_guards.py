"""The guards a host project puts on its own views: decorators, the CBV mixin and the backend."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import Client, RequestFactory
from django.urls import path
from django.views import View

from tests.conftest import MakeToken, bearer
from tokens_app.auth import TokenRequiredMixin, token_permission_required, token_required
from tokens_app.models import AccessToken

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

WRITE_PERMISSIONS = [
    {"code": "notes:read", "label": "Read notes", "group": "Notes"},
    {"code": "notes:write", "label": "Write notes", "group": "Notes"},
]


@token_required
def plain(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.get_username(), "token": request.auth.name})


@token_permission_required("notes:write")
def write_notes(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"written": True})


@token_permission_required("notes:read", allow_session=True)
def read_notes(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"user": request.user.get_username()})


class NotesView(TokenRequiredMixin, View):
    token_permissions = ("notes:write",)

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"user": request.user.get_username()})

    def post(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse({"posted": True}, status=201)


class SessionOrTokenView(TokenRequiredMixin, View):
    allow_session = True

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse(request.user.get_username())


urlpatterns = [
    path("plain", plain),
    path("notes/write", write_notes),
    path("notes/read", read_notes),
    path("cbv/notes", NotesView.as_view()),
    path("cbv/either", SessionOrTokenView.as_view()),
]


@pytest.fixture
def notes_permissions(settings: Any) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": WRITE_PERMISSIONS}


def scoped(make_token: MakeToken, *codes: str) -> str:
    token, secret = make_token()
    AccessToken.objects.filter(pk=token.pk).update(permissions=list(codes))
    return secret


def test_token_required_lets_a_full_access_token_in(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token(name="laptop")
    response = client.get("/plain", **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"user": "owner", "token": "laptop"}


def test_token_required_refuses_a_session(owner_client: Client) -> None:
    response = owner_client.get("/plain")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_token_required_refuses_a_no_access_token_with_403(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token(full_access=False)
    response = client.get("/plain", **bearer(secret))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_a_missing_permission_is_named_in_the_403(
    client: Client, make_token: MakeToken, notes_permissions: None
) -> None:
    secret = scoped(make_token, "notes:read")
    response = client.get("/notes/write", **bearer(secret))
    assert response.status_code == 403
    assert response.json()["scope"] == "notes:write"
    assert response["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", scope="notes:write"'
    )


def test_the_granted_permission_lets_the_request_in(
    client: Client, make_token: MakeToken, notes_permissions: None
) -> None:
    secret = scoped(make_token, "notes:write")
    response = client.get("/notes/write", **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"written": True}


def test_allow_session_accepts_a_logged_in_browser(owner_client: Client) -> None:
    response = owner_client.get("/notes/read")
    assert response.status_code == 200
    assert response.json() == {"user": "owner"}


def test_allow_session_still_refuses_an_anonymous_visitor(client: Client) -> None:
    response = client.get("/notes/read")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_a_token_in_the_query_string_is_refused_even_with_a_good_header(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token()
    response = client.get("/plain?access_token=" + secret, **bearer(secret))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_request"'
    assert "Authorization header" in response.json()["error_description"]


@pytest.mark.parametrize("name", ["access_token", "token", "bearer"])
def test_a_token_in_a_form_body_is_refused_and_says_why(
    client: Client, make_token: MakeToken, name: str
) -> None:
    _, secret = make_token()
    response = client.post("/cbv/notes", {name: secret})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_request"
    assert "form body" in response.json()["error_description"]


def test_the_mixin_lets_a_full_access_token_in(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    response = client.get("/cbv/notes", **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"user": "owner"}
    assert client.post("/cbv/notes", **bearer(secret)).status_code == 201


def test_the_mixin_gives_the_same_401_as_the_decorator(client: Client) -> None:
    for path_ in ("/cbv/notes", "/plain"):
        response = client.get(path_, HTTP_AUTHORIZATION="Bearer djpat_nope")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert response.json()["error"] == "invalid_token"


def test_the_mixin_names_the_missing_permission(
    client: Client, make_token: MakeToken, notes_permissions: None
) -> None:
    secret = scoped(make_token, "notes:read")
    response = client.get("/cbv/notes", **bearer(secret))
    assert response.status_code == 403
    assert response.json()["scope"] == "notes:write"


def test_the_mixin_can_accept_a_session(owner_client: Client, client: Client) -> None:
    assert owner_client.get("/cbv/either").content == b"owner"
    assert client.get("/cbv/either").status_code == 401


def test_the_backend_authenticates_a_token(make_token: MakeToken, owner: Any) -> None:
    _, secret = make_token()
    request = RequestFactory().get("/")
    user = authenticate(request, token=secret)
    assert user == owner
    assert user.backend == "tokens_app.auth.AccessTokenBackend"


@pytest.mark.parametrize("state", ["expired", "no_access", "revoked", "garbage"])
def test_the_backend_returns_none_for_an_unusable_token(make_token: MakeToken, state: str) -> None:
    token, secret = make_token(
        full_access=state != "no_access", state="expired" if state == "expired" else "active"
    )
    if state == "revoked":
        token.revoke()
    if state == "garbage":
        secret = "djpat_" + "x" * 50
    assert authenticate(RequestFactory().get("/"), token=secret) is None


def test_the_backend_ignores_username_and_password_logins(owner: Any) -> None:
    from tokens_app.auth import AccessTokenBackend

    assert AccessTokenBackend().authenticate(None, username="owner", password="pw-owner") is None
