"""Async views get the same token behaviour as sync ones, through the ASGI handler."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient
from django.urls import path
from django.views import View

from tests.conftest import MakeToken
from tokens_app.auth import TokenRequiredMixin, token_permission_required, token_required
from tokens_app.models import AccessToken

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls(__name__)]


def in_event_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test body in an event loop, with no pytest plugin needed."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        async_to_sync(test)(*args, **kwargs)

    return run


@token_required
async def async_whoami(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({"user": user.get_username(), "token": request.auth.name})


@token_permission_required("notes:write", allow_session=True)
async def async_write(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"written": True})


async def async_open(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    return HttpResponse(user.get_username() or "anonymous")


class AsyncNotes(TokenRequiredMixin, View):
    async def get(self, request: HttpRequest) -> JsonResponse:
        user = await request.auser()
        return JsonResponse({"user": user.get_username()})


urlpatterns = [
    path("whoami", async_whoami),
    path("write", async_write),
    path("open", async_open),
    path("cbv", AsyncNotes.as_view()),
]


def auth_header(secret: str) -> dict[str, str]:
    """AsyncClient takes real header names, not WSGI environ keys."""
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def async_client() -> AsyncClient:
    return AsyncClient()


async def issue(make_token: MakeToken, **kwargs: Any) -> tuple[AccessToken, str]:
    return await sync_to_async(make_token)(**kwargs)


@in_event_loop
async def test_an_async_view_sees_the_tokens_owner(
    async_client: AsyncClient, make_token: MakeToken
) -> None:
    _, secret = await issue(make_token, name="laptop")
    response = await async_client.get("/whoami", headers=auth_header(secret))
    assert response.status_code == 200
    assert response.json() == {"user": "owner", "token": "laptop"}
    assert response["X-Access-Token-Permissions"] == "*"
    assert "X-Access-Token-Expires" in response


@in_event_loop
async def test_an_async_view_refuses_a_bad_token_with_the_same_401(
    async_client: AsyncClient,
) -> None:
    response = await async_client.get("/whoami", headers={"Authorization": "Bearer djpat_nope"})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert "X-Access-Token-Permissions" not in response


@in_event_loop
async def test_an_async_view_refuses_no_credentials(async_client: AsyncClient) -> None:
    response = await async_client.get("/whoami")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


@in_event_loop
async def test_an_async_view_names_a_missing_permission(
    async_client: AsyncClient, make_token: MakeToken
) -> None:
    _, secret = await issue(make_token, full_access=False)
    response = await async_client.get("/write", headers=auth_header(secret))
    assert response.status_code == 403
    assert response.json()["scope"] == "notes:write"
    assert response["X-Access-Token-Permissions"] == ""


@in_event_loop
async def test_an_async_view_accepts_a_session_when_allowed(
    make_token: MakeToken, owner: Any
) -> None:
    client = AsyncClient()
    await client.aforce_login(owner)
    response = await client.get("/write")
    assert response.status_code == 200
    assert response.json() == {"written": True}


@in_event_loop
async def test_auser_resolves_the_token_in_an_unguarded_async_view(
    async_client: AsyncClient, make_token: MakeToken
) -> None:
    _, secret = await issue(make_token)
    assert (await async_client.get("/open", headers=auth_header(secret))).content == b"owner"
    assert (await async_client.get("/open")).content == b"anonymous"
    bad = await async_client.get("/open", headers={"Authorization": "Bearer djpat_nope"})
    assert bad.content == b"anonymous"


@in_event_loop
async def test_the_token_decides_over_a_session_in_async_views_too(
    make_token: MakeToken, owner: Any
) -> None:
    client = AsyncClient()
    await client.aforce_login(owner)
    response = await client.get("/open", headers={"Authorization": "Bearer djpat_nope"})
    assert response.content == b"anonymous"


@in_event_loop
async def test_an_async_class_based_view_is_guarded_by_the_mixin(
    async_client: AsyncClient, make_token: MakeToken
) -> None:
    _, secret = await issue(make_token)
    assert (await async_client.get("/cbv", headers=auth_header(secret))).json() == {"user": "owner"}
    refused = await async_client.get("/cbv")
    assert refused.status_code == 401


@in_event_loop
async def test_an_async_request_records_last_use(
    async_client: AsyncClient, make_token: MakeToken
) -> None:
    token, secret = await issue(make_token)
    assert (await async_client.get("/whoami", headers=auth_header(secret))).status_code == 200
    await token.arefresh_from_db()
    assert token.last_used_at is not None
