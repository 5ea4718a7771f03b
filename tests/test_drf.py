"""The optional DRF authentication class and permission, and the app's independence from DRF."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import path
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.conftest import MakeToken, bearer
from tokens_app.drf import AccessTokenAuthentication, HasTokenPermission
from tokens_app.models import AccessToken

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]
ROOT = Path(__file__).resolve().parent.parent


class Notes(APIView):
    authentication_classes = [AccessTokenAuthentication, SessionAuthentication]
    permission_classes = [HasTokenPermission]
    renderer_classes = [JSONRenderer]
    token_permissions = ("notes:write",)

    def get(self, request: Request) -> Response:
        return Response(
            {
                "user": request.user.get_username(),
                "token": request.auth.name if isinstance(request.auth, AccessToken) else None,
            }
        )

    def post(self, request: Request) -> Response:
        return Response({"posted": True}, status=201)


urlpatterns = [path("drf/notes", Notes.as_view())]


@pytest.fixture
def notes_permissions(settings: Any) -> None:
    settings.ACCESS_TOKENS = {
        **settings.ACCESS_TOKENS,
        "PERMISSIONS": [
            {"code": "notes:read", "label": "Read notes", "group": "Notes"},
            {"code": "notes:write", "label": "Write notes", "group": "Notes"},
        ],
    }


def test_a_full_access_token_is_the_user_and_request_auth_is_the_token(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token(name="laptop")
    response = client.get("/drf/notes", **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"user": "owner", "token": "laptop"}
    assert response["X-Access-Token-Permissions"] == "*"


def test_a_bad_token_gets_401_with_a_bearer_challenge(client: Client) -> None:
    response = client.get("/drf/notes", HTTP_AUTHORIZATION="Bearer djpat_nope")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["detail"] == "The access token is invalid, expired or revoked."


def test_no_credentials_get_a_plain_bearer_challenge(client: Client) -> None:
    response = client.get("/drf/notes")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_no_access_token_gets_403(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token(full_access=False)
    response = client.get("/drf/notes", **bearer(secret))
    assert response.status_code == 403
    assert "does not grant" in response.json()["detail"]


def test_a_missing_permission_is_named(
    client: Client, make_token: MakeToken, notes_permissions: None
) -> None:
    token, secret = make_token()
    AccessToken.objects.filter(pk=token.pk).update(permissions=["notes:read"])
    response = client.get("/drf/notes", **bearer(secret))
    assert response.status_code == 403
    assert "Missing: notes:write." in response.json()["detail"]


def test_the_granted_permission_lets_the_request_in(
    client: Client, make_token: MakeToken, notes_permissions: None
) -> None:
    token, secret = make_token()
    AccessToken.objects.filter(pk=token.pk).update(permissions=["notes:write"])
    assert client.get("/drf/notes", **bearer(secret)).status_code == 200


def test_the_token_decides_over_a_session(owner_client: Client) -> None:
    response = owner_client.get("/drf/notes", HTTP_AUTHORIZATION="Bearer djpat_nope")
    assert response.status_code == 401


def test_a_session_works_and_keeps_its_csrf_check(csrf_client: Client) -> None:
    assert csrf_client.get("/drf/notes").json() == {"user": "owner", "token": None}
    response = csrf_client.post("/drf/notes")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_token_post_needs_no_csrf_and_makes_no_session(make_token: MakeToken) -> None:
    _, secret = make_token()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/drf/notes", **bearer(secret))
    assert response.status_code == 201
    assert "sessionid" not in response.cookies
    assert not Session.objects.exists()


def test_a_token_in_the_form_body_is_refused_and_says_why(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token()
    response = client.post("/drf/notes", {"access_token": secret})
    assert response.status_code == 401
    assert "Authorization header" in response.json()["detail"]


def test_throttled_attempts_get_429_with_retry_after(
    client: Client, make_token: MakeToken, settings: Any
) -> None:
    from tokens_app import format

    settings.ACCESS_TOKENS = {
        **settings.ACCESS_TOKENS,
        "THROTTLE": {"FAILURES_PER_TOKEN": 1, "FAILURES_PER_ADDRESS": 10, "WINDOW": 60},
    }
    token, _ = make_token()
    wrong = format.build(token.prefix, token.public_id, format.new_secret())
    assert client.get("/drf/notes", **bearer(wrong)).status_code == 401
    response = client.get("/drf/notes", **bearer(wrong))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_class_works_without_the_middleware(
    client: Client, make_token: MakeToken, settings: Any
) -> None:
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "tokens_app.auth.AccessTokenMiddleware"
    ]
    _, secret = make_token(name="laptop")
    response = client.get("/drf/notes", **bearer(secret))
    assert response.status_code == 200
    assert response.json() == {"user": "owner", "token": "laptop"}


def test_tokens_app_imports_and_serves_without_drf_installed(tmp_path: Path) -> None:
    """Block every rest_framework import, then load the app, run checks and serve a token."""
    script = textwrap.dedent(
        """
        import importlib, importlib.abc, pkgutil, sys

        class NoDRF(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "rest_framework" or name.startswith("rest_framework."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoDRF())
        import django
        django.setup()
        import tokens_app
        for module in pkgutil.walk_packages(tokens_app.__path__, "tokens_app."):
            if module.name != "tokens_app.drf":
                importlib.import_module(module.name)
        try:
            import tokens_app.drf
        except ModuleNotFoundError as error:
            assert error.name == "rest_framework", error
        else:
            raise AssertionError("tokens_app.drf imported without DRF")
        from django.core.management import call_command
        call_command("check")
        assert "rest_framework" not in sys.modules
        print("ok without drf")
        """
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "ok without drf" in result.stdout
