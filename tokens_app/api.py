"""The JSON API: a token managing itself, the owner's tokens, and leaked-token revocation.

The rules are the pages' rules: names go through ``clean_token_name``,
permissions through the registry, expiry through ``validate_expiry``, the
per-user limit through ``AccessToken.objects.issue``. Errors are
``{"error": code, "message": text}``; refusals by the bearer guards keep their
RFC 6750 shape. No view here uses the session, so none needs CSRF.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables

from tokens_app import activity
from tokens_app import permissions as registry
from tokens_app.auth import INVALID_TOKEN, client_ip, token_check, unauthorized
from tokens_app.auth import token_permission_required as requires
from tokens_app.conf import policy
from tokens_app.forms import clean_token_name
from tokens_app.models import AccessToken, StaleToken, TokenLimitReached, validate_expiry

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
# The largest id databases store; a bigger one in a URL is simply not found.
MAX_ID = 2**63 - 1
PAGE_SIZE, MAX_PAGE_SIZE = 20, 100
# Leaked-token reports: bounded per request and per client address.
REVOKE_MAX_TOKENS = 100
REVOKE_MAX_BODY_BYTES = 64 * 1024
REVOKE_REQUESTS_PER_WINDOW = 30
REVOKE_WINDOW_SECONDS = 60
# The one answer POST /api/v1/tokens/revoke ever gives, so it tells nobody anything.
REVOKE_ACCEPTED = (
    b'{"status": "accepted", "message": "Thank you. Any valid access token in this report '
    b'has been revoked and its owner told."}'
)


class ApiError(Exception):
    """An answer other than success, raised anywhere below a view and rendered once."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def json_error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, **extra}, status=status)


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    return response


def api_view(methods: list[str]) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """JSON 405 for other methods, ApiError as JSON, never cached, no CSRF (no cookie authority)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response: HttpResponse = json_error(
                    405,
                    "method_not_allowed",
                    f"Use {' or '.join(methods)} on this URL.",
                )
                response["Allow"] = ", ".join(methods)
                return _private(response)
            try:
                response = view(request, *args, **kwargs)
            except ApiError as error:
                response = json_error(error.status, error.code, error.message, **error.extra)
            return _private(response)

        return csrf_exempt(wrapper)

    return decorator


def read_json(request: HttpRequest, *, limit: int = MAX_BODY_BYTES) -> Any:
    """The parsed JSON body; an empty body is ``{}``."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise ApiError(413, "body_too_large", f"Send at most {limit} bytes.")
    try:
        body = request.body
    except RequestDataTooBig:
        raise ApiError(413, "body_too_large", f"Send at most {limit} bytes.") from None
    if len(body) > limit:
        raise ApiError(413, "body_too_large", f"Send at most {limit} bytes.")
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "invalid_json", "The body must be JSON, encoded as UTF-8.") from None


def read_object(request: HttpRequest, allowed: set[str]) -> dict[str, Any]:
    data = read_json(request)
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The body must be a JSON object.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ApiError(
            400,
            "unknown_field",
            f"Unknown field {', '.join(unknown)}. Known fields: {', '.join(sorted(allowed))}.",
            field=unknown[0],
        )
    return data


def token_json(token: AccessToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "identifier": token.identifier,
        "permissions": token.effective_permissions,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "regenerated_at": token.regenerated_at,
    }


@sensitive_variables("secret")
def _issued(token: AccessToken, secret: str, status: int) -> JsonResponse:
    """The one response that holds a new secret."""
    return JsonResponse({"token": token_json(token), "secret": secret}, status=status)


# -- reading the body ------------------------------------------------------------


def _invalid(field: str, error: ValidationError, code: str) -> ApiError:
    return ApiError(400, code, " ".join(error.messages), field=field)


def name_from(data: dict[str, Any]) -> str:
    value = data.get("name")
    if not isinstance(value, str):
        raise ApiError(400, "invalid_name", "Send the name as a string.", field="name")
    try:
        return clean_token_name(value)
    except ValidationError as error:
        raise _invalid("name", error, "invalid_name") from None


def expiry_from(data: dict[str, Any]) -> datetime.datetime:
    """``expires_at`` (ISO 8601, with offset) or ``expires_in_days``; else the default."""
    if "expires_at" in data and "expires_in_days" in data:
        raise ApiError(
            400,
            "invalid_expiry",
            "Send expires_at or expires_in_days, not both.",
            field="expires_at",
        )
    now = timezone.now()
    if "expires_at" in data:
        raw = data["expires_at"]
        try:
            parsed = parse_datetime(raw) if isinstance(raw, str) else None
        except ValueError:  # well-formed but impossible, e.g. February 30th or hour 25
            parsed = None
        if parsed is None or timezone.is_naive(parsed):
            raise ApiError(
                400,
                "invalid_expiry",
                "Send expires_at as an ISO 8601 date and time with an offset, "
                "e.g. 2030-01-31T00:00:00Z.",
                field="expires_at",
            )
        expires_at, field = parsed.astimezone(datetime.UTC), "expires_at"
    else:
        days = data.get("expires_in_days", policy().default_expiration)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 36_500:
            raise ApiError(
                400,
                "invalid_expiry",
                f"Send expires_in_days as a whole number of days from 1 to "
                f"{policy().max_lifetime_days}.",
                field="expires_in_days",
            )
        expires_at, field = now + datetime.timedelta(days=days), "expires_in_days"
    try:
        validate_expiry(expires_at, now)
    except ValidationError as error:
        raise _invalid(field, error, "invalid_expiry") from None
    return expires_at


def permissions_from(data: dict[str, Any], caller: AccessToken) -> list[str]:
    """The requested permissions, refused if undeclared or beyond what the calling token holds.

    A token may hand out only what it has, so tokens:write cannot mint Full Access.
    """
    try:
        wanted = registry.validate(data.get("permissions", []))
    except ValidationError as error:
        raise _invalid("permissions", error, "invalid_permissions") from None
    if caller.has_full_access:
        return wanted
    beyond = [code for code in wanted if code not in caller.effective_permissions]
    if beyond:
        raise ApiError(
            403,
            "permission_not_held",
            f"This token cannot grant {', '.join(beyond)}: a token may grant only "
            "permissions it holds itself.",
            field="permissions",
        )
    return wanted


# -- the calling token -------------------------------------------------------------


def self_token_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Any valid token may see, rotate or delete itself, even one with No Access."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        check = token_check(request)
        if check is None:
            return unauthorized()
        if check.token is None:
            return unauthorized(check.error or INVALID_TOKEN)
        return view(request, check.token, *args, **kwargs)

    return wrapper


@api_view(["GET", "DELETE"])
@self_token_required
def token_self(request: HttpRequest, token: AccessToken) -> HttpResponse:
    if request.method == "DELETE":
        token.revoke()
        return HttpResponse(status=204)
    return JsonResponse(token_json(token))


@api_view(["POST"])
@self_token_required
def token_self_rotate(request: HttpRequest, token: AccessToken) -> HttpResponse:
    """A new secret, shown once; the calling secret stops working at once."""
    expires_at = expiry_from(read_object(request, {"expires_at", "expires_in_days"}))
    try:
        secret = token.regenerate(expires_at=expires_at, generation=token.generation)
    except StaleToken:
        raise ApiError(
            409, "conflict", "This token was rotated by another request; use its new secret."
        ) from None
    return _issued(token, secret, 200)


# -- the owner's tokens ---------------------------------------------------------------


def _page_number(request: HttpRequest, name: str, default: int, maximum: int) -> int:
    raw = request.GET.get(name, str(default))
    if not raw.isdecimal() or not 1 <= int(raw) <= maximum:
        raise ApiError(400, "invalid_page", f"{name} must be a whole number from 1 to {maximum}.")
    return int(raw)


def _page_url(request: HttpRequest, page: int, per_page: int) -> str:
    return f"{reverse('tokens_api:list')}?page={page}&per_page={per_page}"


@requires("tokens:read")
def _list_tokens(request: HttpRequest) -> HttpResponse:
    page = _page_number(request, "page", 1, 1_000_000)
    per_page = _page_number(request, "per_page", PAGE_SIZE, MAX_PAGE_SIZE)
    tokens = request.user.access_tokens.all()  # type: ignore[union-attr]
    count = tokens.count()
    start = (page - 1) * per_page
    results = [token_json(token) for token in tokens[start : start + per_page]]
    return JsonResponse(
        {
            "count": count,
            "page": page,
            "per_page": per_page,
            "next": _page_url(request, page + 1, per_page) if start + per_page < count else None,
            "previous": _page_url(request, page - 1, per_page) if page > 1 else None,
            "results": results,
        }
    )


@requires("tokens:write")
def _create_token(request: HttpRequest) -> HttpResponse:
    data = read_object(request, {"name", "permissions", "expires_at", "expires_in_days"})
    name = name_from(data)
    permissions = permissions_from(data, request.auth)  # type: ignore[attr-defined]
    expires_at = expiry_from(data)
    try:
        token, secret = AccessToken.objects.issue(
            owner=request.user,  # type: ignore[arg-type]
            name=name,
            permissions=permissions,
            expires_at=expires_at,
        )
    except TokenLimitReached:
        raise ApiError(
            409,
            "token_limit_reached",
            TokenLimitReached.message,
        ) from None
    response = _issued(token, secret, 201)
    response["Location"] = reverse("tokens_api:detail", args=[token.pk])
    return response


@api_view(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    return _create_token(request) if request.method == "POST" else _list_tokens(request)


def _own_token(request: HttpRequest, pk: int) -> AccessToken:
    token = None
    if pk <= MAX_ID:
        token = request.user.access_tokens.filter(pk=pk).first()  # type: ignore[union-attr]
    if token is None:
        raise ApiError(404, "not_found", "You have no access token with this id.")
    return token


@requires("tokens:read")
def _show_token(request: HttpRequest, pk: int) -> HttpResponse:
    return JsonResponse(token_json(_own_token(request, pk)))


@requires("tokens:write")
def _update_token(request: HttpRequest, pk: int) -> HttpResponse:
    token = _own_token(request, pk)
    data = read_object(request, {"name", "permissions"})
    if not data:
        raise ApiError(400, "invalid_body", "Send a new name, new permissions or both.")
    name = name_from(data) if "name" in data else token.name
    permissions = (
        permissions_from(data, request.auth)  # type: ignore[attr-defined]
        if "permissions" in data
        else token.permissions
    )
    try:
        token.update_details(name=name, permissions=permissions)
    except StaleToken:
        raise ApiError(404, "not_found", "You have no access token with this id.") from None
    return JsonResponse(token_json(token))


@requires("tokens:write")
def _delete_token(request: HttpRequest, pk: int) -> HttpResponse:
    _own_token(request, pk).revoke()
    return HttpResponse(status=204)


@api_view(["GET", "PATCH", "DELETE"])
def token_detail(request: HttpRequest, pk: int) -> HttpResponse:
    handler = {"PATCH": _update_token, "DELETE": _delete_token}.get(request.method, _show_token)
    return handler(request, pk)


# -- leaked-token revocation ----------------------------------------------------------


def _throttled(request: HttpRequest) -> bool:
    """More than the allowed reports from this address in the current window."""
    key = f"tokens_app:revoke:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=REVOKE_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=REVOKE_WINDOW_SECONDS)
        count = 1
    return count > REVOKE_REQUESTS_PER_WINDOW


@sensitive_variables("data", "item")
def _reported_strings(request: HttpRequest) -> list[str]:
    """The token strings in a report, or none for anything malformed. Never raises.

    Accepted: ``["djpat_…", …]``, ``{"tokens": [...]}``, or a list of objects
    with a ``token`` key, the shape secret-scanning services send.
    """
    try:
        data = read_json(request, limit=REVOKE_MAX_BODY_BYTES)
    except ApiError:
        return []
    if isinstance(data, dict):
        data = data.get("tokens")
    if not isinstance(data, list):
        return []
    found = []
    for item in data[:REVOKE_MAX_TOKENS]:
        value = item.get("token") if isinstance(item, dict) else item
        if isinstance(value, str):
            found.append(value)
    return found


def _revoke_leaked(token: AccessToken, request: HttpRequest) -> None:
    """Revoke a reported token, log it and tell its owner. The log line outlives the row."""
    # Whoever reports is logged as an unauthenticated client, whatever cookie they send.
    origin = activity.Origin(
        activity.Actor.CLIENT,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
    )
    activity.record(token, activity.Kind.REPORTED_LEAKED, origin=origin, keep_link=False)
    owner, name, identifier = token.owner, token.name, token.identifier
    token.revoke()
    transaction.on_commit(lambda: _tell_owner(owner, name, identifier))


def _tell_owner(owner: Any, name: str, identifier: str) -> None:
    """Best effort: a mail failure must not change the endpoint's one answer."""
    address = getattr(owner, "email", "")
    if not address:
        return
    try:
        send_mail(
            f"Your access token “{name}” was revoked after it was reported as leaked",
            f"Someone reported your access token “{name}” ({identifier}) as leaked, "
            "for example because it appeared in a public repository or a log.\n\n"
            "It has been revoked: anything still using it now gets 401 Unauthorized. "
            "Create a new token on your Access Tokens page and update whatever used "
            "the old one. The token's secret is not included in this email.\n",
            None,
            [address],
        )
    except Exception:
        logger.exception("Could not email the owner of revoked token %s", identifier)


@api_view(["POST"])
def revoke(request: HttpRequest) -> HttpResponse:
    """Anyone may report a leaked token. The answer is the same whatever was sent."""
    if _throttled(request):
        response = json_error(
            429, "rate_limited", "Too many reports from this address. Try again in a minute."
        )
        response["Retry-After"] = str(REVOKE_WINDOW_SECONDS)
        return response
    for raw in _reported_strings(request):
        with transaction.atomic():
            token = AccessToken.objects.matching(raw)
            if token is not None:
                _revoke_leaked(token, request)
    response = HttpResponse(REVOKE_ACCEPTED, status=202, content_type="application/json")
    # Revoking may read the session (to log who acted), which would add "Vary:
    # Cookie" to this answer only; saying it always keeps every answer identical.
    patch_vary_headers(response, ["Cookie"])
    return response


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """A JSON 404 for any other URL under the API, instead of the site's HTML page."""
    return _private(json_error(404, "not_found", "There is no API endpoint at this URL."))
