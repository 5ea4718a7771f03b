"""Django REST Framework support, an optional extra (``pip install django-access-tokens[drf]``).

Nothing else in ``tokens_app`` imports this module, so the app runs without DRF.
The authentication class follows the same rules as the middleware: a bearer
header decides on its own (valid or not), the token is ``request.auth``, and no
session is involved, so DRF's CSRF check (which only SessionAuthentication
applies) does not either.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from tokens_app.auth import (
    INVALID_REQUEST,
    INVALID_TOKEN,
    TokenCheck,
    bearer_credential,
    check_token,
    token_check,
    token_outside_header,
)
from tokens_app.models import AccessToken


class AccessTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` for DRF views; put it first in the list.

    A No Access token authenticates (so DRF answers 403, not 401) but as an
    anonymous user, exactly as the middleware does.
    """

    def authenticate(self, request: Request) -> tuple[Any, AccessToken] | None:
        django_request = request._request
        if token_outside_header(django_request):
            raise exceptions.AuthenticationFailed(
                "Send the access token in the Authorization header as 'Bearer <token>'; "
                "tokens in the URL or form body are refused.",
                code=INVALID_REQUEST,
            )
        check = self._check(django_request)
        if check is None:
            return None
        if check.retry_after is not None:
            raise exceptions.Throttled(wait=check.retry_after)
        if check.token is None:
            raise exceptions.AuthenticationFailed(
                "The access token is invalid, expired or revoked.", code=INVALID_TOKEN
            )
        return check.user, check.token

    def authenticate_header(self, request: Request) -> str:
        if bearer_credential(request._request) is None:
            return "Bearer"
        return f'Bearer error="{INVALID_TOKEN}"'

    @staticmethod
    def _check(django_request: Any) -> TokenCheck | None:
        """Reuse the middleware's check when it ran, so a request is checked once."""
        check = token_check(django_request)
        if check is not None:
            return check
        raw = bearer_credential(django_request)
        return None if raw is None else check_token(raw, django_request)


class HasTokenPermission(BasePermission):
    """Require the view's ``token_permissions`` of a token; sessions need only be logged in.

    A No Access token is always refused. Pair it with IsAuthenticated only if
    the view also accepts other authentication.
    """

    message = "This token does not grant the permission this request needs."

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, AccessToken):
            return bool(request.user and request.user.is_authenticated)
        required = tuple(getattr(view, "token_permissions", ()))
        missing = [code for code in required if not token.has_permission(code)]
        if missing:
            self.message = f"{self.message} Missing: {' '.join(missing)}."
        if token.has_no_access or missing:
            return False
        request.user = token.owner  # admitted: the view acts as the token's owner
        return True
