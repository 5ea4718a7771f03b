"""Bearer-token authentication: the middleware, the backend and the view guards.

These mirror ``django.contrib.auth``: the middleware sets ``request.user``
lazily, the backend returns None on failure and never raises, and secrets are
hidden from error reports.

The rules:
* ``Authorization: Bearer <token>`` (scheme case-insensitive, one token).
* When a bearer header is present the token decides, valid or not: a session
  cookie on the same request is ignored, so CSRF (which guards the cookie's
  ambient authority) does not apply.
* Unknown, malformed, expired and deleted tokens all get the same 401.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.debug import sensitive_variables

from tokens_app import format
from tokens_app.hashing import keyed_digest
from tokens_app.models import AccessToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

INVALID_TOKEN = "invalid_token"  # noqa: S105 (an RFC 6750 error code)
INVALID_REQUEST = "invalid_request"
INSUFFICIENT_SCOPE = "insufficient_scope"
# Names under which a careless client might put a token in the URL or form body.
_TOKEN_PARAMETERS = ("access_token", "token", "bearer")


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of checking one bearer credential."""

    token: AccessToken | None = None
    error: str | None = None

    @property
    def user(self) -> AbstractBaseUser | AnonymousUser:
        if self.token is None or self.token.has_no_access:
            return AnonymousUser()
        return self.token.owner


def bearer_credential(request: HttpRequest) -> str | None:
    """The value after ``Bearer``, or None when the request carries no bearer header.

    A header with another scheme (``Basic``, ``Token``, ``BearerX``) is not ours.
    An empty string means the scheme came without a usable single token.
    """
    header = request.META.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip(" \t")
    if not value or any(ch.isspace() for ch in value):
        return ""
    return value


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@sensitive_variables("raw", "parsed")
def check_token(raw: str, request: HttpRequest | None = None) -> TokenCheck:
    """Check a token string: checksum first (no query), then one indexed lookup."""
    parsed = format.parse(raw)
    if parsed is None:
        return TokenCheck(error=INVALID_TOKEN)
    token = AccessToken.objects.select_related("owner").filter(public_id=parsed.public_id).first()
    if (
        token is None
        or token.prefix != parsed.prefix
        or token.is_expired()
        or not token.owner.is_active
        or not token.check_secret(parsed.secret, keyed_digest(raw))
    ):
        return TokenCheck(error=INVALID_TOKEN)
    token.record_use(ip=client_ip(request) if request is not None else None)
    return TokenCheck(token=token)


def token_check(request: HttpRequest) -> TokenCheck | None:
    """The request's token outcome, or None if it carried no bearer header."""
    lazy = getattr(request, "_access_token_check", None)
    return lazy() if lazy is not None else None


class AccessTokenMiddleware:
    """Authenticate ``Authorization: Bearer`` requests. Place after AuthenticationMiddleware."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        self.process_request(request)
        return self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        self.process_request(request)
        return await self.get_response(request)

    def process_request(self, request: HttpRequest) -> None:
        raw = bearer_credential(request)
        if raw is None:
            return
        check = functools.cache(lambda: check_token(raw, request))
        request._access_token_check = check  # type: ignore[attr-defined]
        request.user = SimpleLazyObject(lambda: check().user)  # type: ignore[assignment]
        request.auth = SimpleLazyObject(lambda: check().token)  # type: ignore[attr-defined]

        async def auser() -> AbstractBaseUser | AnonymousUser:
            return (await sync_to_async(check)()).user

        request.auser = auser  # type: ignore[attr-defined]
        # No cookie authority is used on this request, so there is nothing for CSRF to guard.
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]


class AccessTokenBackend(BaseBackend):
    """``authenticate(request, token="djpat_...")`` returns the owner of a valid token."""

    @sensitive_variables("token")
    def authenticate(
        self, request: HttpRequest | None, token: str | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if not token:
            return None
        user = check_token(token, request).user
        return user if user.is_authenticated else None

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        user_model = get_user_model()
        user = user_model._default_manager.filter(pk=user_id).first()
        return user if user is not None and user.is_active else None


# -- responses and guards ------------------------------------------------------

_DESCRIPTIONS = {
    INVALID_TOKEN: "The access token is invalid, expired or revoked.",
    INVALID_REQUEST: "Send the access token in the Authorization header as 'Bearer <token>'; "
    "tokens in the URL or form body are refused.",
}


def unauthorized(error: str | None = None) -> JsonResponse:
    """401 with RFC 6750's ``WWW-Authenticate``; no details about which check failed."""
    if error is None:
        response = JsonResponse(
            {"error": "unauthorized", "error_description": "Authentication required."},
            status=401,
        )
        response["WWW-Authenticate"] = "Bearer"
        return response
    response = JsonResponse({"error": error, "error_description": _DESCRIPTIONS[error]}, status=401)
    response["WWW-Authenticate"] = f'Bearer error="{error}"'
    return response


def insufficient_scope(required: tuple[str, ...]) -> JsonResponse:
    scope = " ".join(required)
    response = JsonResponse(
        {
            "error": INSUFFICIENT_SCOPE,
            "error_description": "This token does not grant the permission this request needs.",
            "scope": scope,
        },
        status=403,
    )
    response["WWW-Authenticate"] = f'Bearer error="{INSUFFICIENT_SCOPE}", scope="{scope}"'
    return response


def _token_in_request_body_or_url(request: HttpRequest) -> bool:
    if any(name in request.GET for name in _TOKEN_PARAMETERS):
        return True
    content_type = request.content_type or ""
    if request.method == "POST" and content_type in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        return any(name in request.POST for name in _TOKEN_PARAMETERS)
    return False


def refusal(
    request: HttpRequest, required: tuple[str, ...], *, allow_session: bool
) -> HttpResponse | None:
    """The 401/403 response for a request that may not proceed, or None if it may."""
    if _token_in_request_body_or_url(request):
        return unauthorized(INVALID_REQUEST)
    check = token_check(request)
    if check is None:
        if allow_session and request.user.is_authenticated:
            return None
        return unauthorized()
    if check.token is None:
        return unauthorized(check.error or INVALID_TOKEN)
    missing = tuple(code for code in required if not check.token.has_permission(code))
    if check.token.has_no_access or missing:
        return insufficient_scope(missing or required)
    return None


def token_permission_required(
    *codes: str, allow_session: bool = False
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Require a valid bearer token granting every permission in ``codes``.

    With ``allow_session=True`` a logged-in browser session is accepted too.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                denied = await sync_to_async(refusal)(request, codes, allow_session=allow_session)
                return denied if denied is not None else await view(request, *args, **kwargs)

            return async_wrapper

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            denied = refusal(request, codes, allow_session=allow_session)
            return denied if denied is not None else view(request, *args, **kwargs)

        return wrapper

    return decorator


def token_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Require a valid bearer token with at least some access (not No Access)."""
    return token_permission_required()(view)
