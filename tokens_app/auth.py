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
* argon2 runs only for a secret this process has not verified yet, and only
  within the throttle's budget (``tokens_app.throttle``); over it, 429.
* Every response to a request with a valid token says what the token grants
  and when it expires, so command-line clients can warn in time.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AnonymousUser
from django.db import connections, router
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import SimpleLazyObject
from django.views.decorators.debug import sensitive_variables

from tokens_app import activity, format, throttle
from tokens_app.hashing import keyed_digest, verified_secrets
from tokens_app.models import FULL_ACCESS, AccessToken

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

INVALID_TOKEN = "invalid_token"  # noqa: S105 (an RFC 6750 error code)
INVALID_REQUEST = "invalid_request"
INSUFFICIENT_SCOPE = "insufficient_scope"
TOO_MANY_ATTEMPTS = "too_many_attempts"
EXPIRES_HEADER = "X-Access-Token-Expires"
PERMISSIONS_HEADER = "X-Access-Token-Permissions"
# Names under which a careless client might put a token in the URL or form body.
_TOKEN_PARAMETERS = ("access_token", "token", "bearer")


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """The outcome of checking one bearer credential."""

    token: AccessToken | None = None
    error: str | None = None
    retry_after: int | None = None

    @property
    def user(self) -> AbstractBaseUser | AnonymousUser:
        """Who the request is, for views that know nothing of tokens.

        Only a Full Access token makes a request its owner's everywhere. A token
        with some permissions acts as its owner only inside a guard that admits
        it (``token_permission_required``, the mixin, DRF's HasTokenPermission),
        so a plain ``login_required`` view or the admin never trusts a scoped token.
        """
        if self.token is None or not self.token.has_full_access:
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
    # HTTP's optional whitespace is spaces and tabs only; other Unicode spaces are refused.
    scheme, _, value = header.strip(" \t").partition(" ")
    if scheme.lower() != "bearer":
        return None
    value = value.strip(" \t")
    if not value or any(ch.isspace() for ch in value):
        return ""
    return value


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


class _CompiledLookup:
    """The token-and-owner query for one database, compiled to SQL once per process.

    Django compiles a queryset on every evaluation, and for this one indexed
    query compiling costs several times more than running it. The SQL and its
    column layout never change, so the hot path only executes it with the new
    public id, applies the fields' own database converters and builds both
    instances with ``Model.from_db``, as the ORM itself would.
    """

    _PLACEHOLDER = "?" * format.PUBLIC_ID_LENGTH

    def __init__(self, alias: str) -> None:
        query = (
            AccessToken.objects.using(alias)
            .select_related("owner")
            .filter(public_id=self._PLACEHOLDER)
            .order_by()
            .query
        )
        compiler = query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slot = self.params.index(self._PLACEHOLDER)
        self.converters = compiler.get_converters([column[0] for column in compiler.select])
        owner_info = compiler.klass_info["related_klass_infos"][0]
        self.token_columns = compiler.klass_info["select_fields"]
        self.owner_columns = owner_info["select_fields"]
        self.owner_model = owner_info["model"]
        self.token_names = [compiler.select[i][0].target.attname for i in self.token_columns]
        self.owner_names = [compiler.select[i][0].target.attname for i in self.owner_columns]

    def find(self, alias: str, public_id: str) -> AccessToken | None:
        connection = connections[alias]
        params = list(self.params)
        params[self.slot] = public_id
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for position, (functions, expression) in self.converters.items():
            for convert in functions:
                values[position] = convert(values[position], expression, connection)
        token = AccessToken.from_db(
            alias, self.token_names, [values[i] for i in self.token_columns]
        )
        owner = self.owner_model.from_db(
            alias, self.owner_names, [values[i] for i in self.owner_columns]
        )
        AccessToken._meta.get_field("owner").set_cached_value(token, owner)
        return token


_lookups: dict[str, _CompiledLookup] = {}


def find_token(public_id: str) -> AccessToken | None:
    """One lookup by the unique public id, whatever the table size, and no ORM compile."""
    alias = router.db_for_read(AccessToken)
    lookup = _lookups.get(alias)
    if lookup is None:
        lookup = _lookups.setdefault(alias, _CompiledLookup(alias))
    return lookup.find(alias, public_id)


def is_usable(token: AccessToken, prefix: str) -> bool:
    return token.prefix == prefix and not token.is_expired() and token.owner.is_active


@sensitive_variables("raw", "parsed")
def check_token(raw: str, request: HttpRequest | None = None) -> TokenCheck:
    """Check a token string: checksum first (no query), then one indexed lookup.

    The steps, cheapest first: the checksum; the row; a secret this process
    already verified (no argon2); then, within the throttle's budget, argon2.
    """
    parsed = format.parse(raw)
    if parsed is None:
        return TokenCheck(error=INVALID_TOKEN)
    token = find_token(parsed.public_id)
    if token is None:
        return TokenCheck(error=INVALID_TOKEN)
    if not is_usable(token, parsed.prefix):
        activity.note_refusal(token, request)
        return TokenCheck(error=INVALID_TOKEN)
    address = client_ip(request)
    digest = keyed_digest(raw)
    if not verified_secrets.matches(digest, token.secret_hash):
        refused = throttle.reserve(token.public_id, address)
        if refused is not None:
            if not throttle.vouched(token.public_id, digest, token.secret_hash):
                return TokenCheck(error=TOO_MANY_ATTEMPTS, retry_after=refused.retry_after)
            verified_secrets.remember(digest, token.secret_hash)
        elif token.check_secret(parsed.secret, digest):
            throttle.release(token.public_id, address)
            throttle.vouch(token.public_id, digest, token.secret_hash)
        else:
            # A wrong secret against a real token id: its attempt stays counted.
            activity.note_failed_attempt(token, request)
            return TokenCheck(error=INVALID_TOKEN)
    token.record_use(ip=address)
    activity.note_use(token, request)
    return TokenCheck(token=token)


class PendingCheck:
    """A request's token check, run at most once and only when first needed."""

    __slots__ = ("_attempted", "_raw", "_request", "_result")

    def __init__(self, raw: str, request: HttpRequest) -> None:
        self._raw = raw
        self._request = request
        self._result: TokenCheck | None = None
        self._attempted = False

    @property
    def done(self) -> bool:
        return self._result is not None

    @property
    def failed(self) -> bool:
        """The check was tried and raised: don't run it again for the response headers."""
        return self._attempted and self._result is None

    def __call__(self) -> TokenCheck:
        if self._result is None:
            self._attempted = True
            self._result = check_token(self._raw, self._request)
        return self._result


def token_check(request: HttpRequest) -> TokenCheck | None:
    """The request's token outcome, or None if it carried no bearer header."""
    pending = getattr(request, "_access_token_check", None)
    return pending() if pending is not None else None


def _utc_iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe_grant(response: HttpResponse, token: AccessToken) -> None:
    """Tell the client what its token grants and when it expires."""
    response[EXPIRES_HEADER] = _utc_iso(token.expires_at)
    if token.has_full_access:
        response[PERMISSIONS_HEADER] = FULL_ACCESS
    else:
        response[PERMISSIONS_HEADER] = " ".join(token.effective_permissions)


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
        pending = self.process_request(request)
        response = self.get_response(request)
        if pending is not None and not pending.failed:
            self.process_response(pending(), response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        pending = self.process_request(request)
        response = await self.get_response(request)
        if pending is not None and not pending.failed:
            check = pending() if pending.done else await sync_to_async(pending)()
            self.process_response(check, response)
        return response

    def process_request(self, request: HttpRequest) -> PendingCheck | None:
        raw = bearer_credential(request)
        if raw is None:
            return None
        pending = PendingCheck(raw, request)
        request._access_token_check = pending  # type: ignore[attr-defined]
        request.user = SimpleLazyObject(lambda: pending().user)  # type: ignore[assignment]
        request.auth = SimpleLazyObject(lambda: pending().token)  # type: ignore[attr-defined]

        async def auser() -> AbstractBaseUser | AnonymousUser:
            check = pending() if pending.done else await sync_to_async(pending)()
            return check.user

        request.auser = auser  # type: ignore[attr-defined]
        # No cookie authority is used on this request, so there is nothing for CSRF to guard.
        request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]
        return pending

    def process_response(self, check: TokenCheck, response: HttpResponse) -> None:
        if check.token is not None:
            describe_grant(response, check.token)


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

SESSION_NOT_ACCEPTED = (
    "This endpoint takes an access token (Authorization: Bearer <token>); "
    "a browser session is not enough."
)
_DESCRIPTIONS = {
    INVALID_TOKEN: "The access token is invalid, expired or revoked.",
    INVALID_REQUEST: "Send the access token in the Authorization header as 'Bearer <token>'; "
    "tokens in the URL or form body are refused.",
}


def unauthorized(error: str | None = None, *, description: str | None = None) -> JsonResponse:
    """401 with RFC 6750's ``WWW-Authenticate``; no details about which check failed."""
    if error is None:
        response = JsonResponse(
            {
                "error": "unauthorized",
                "error_description": description or "Authentication required.",
            },
            status=401,
        )
        response["WWW-Authenticate"] = "Bearer"
        return response
    response = JsonResponse({"error": error, "error_description": _DESCRIPTIONS[error]}, status=401)
    response["WWW-Authenticate"] = f'Bearer error="{error}"'
    return response


def too_many_attempts(retry_after: int) -> JsonResponse:
    """429 for a token id or address over its budget of wrong secrets."""
    response = JsonResponse(
        {
            "error": TOO_MANY_ATTEMPTS,
            "error_description": "Too many failed attempts with this token or from this "
            f"address. Try again in {retry_after} seconds.",
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
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


def token_outside_header(request: HttpRequest) -> bool:
    """Whether a token came in the query string or a form body, where it would leak."""
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
    """The 401/403/429 response for a request that may not proceed, or None if it may."""
    if token_outside_header(request):
        return unauthorized(INVALID_REQUEST)
    check = token_check(request)
    if check is None:
        if request.user.is_authenticated:
            if allow_session:
                return None
            return unauthorized(description=SESSION_NOT_ACCEPTED)
        return unauthorized()
    if check.retry_after is not None:
        return too_many_attempts(check.retry_after)
    if check.token is None:
        return unauthorized(check.error or INVALID_TOKEN)
    missing = tuple(code for code in required if not check.token.has_permission(code))
    if check.token.has_no_access or missing:
        return insufficient_scope(missing or required)
    return None


def admit(request: HttpRequest) -> None:
    """A guard let this request's token through: its view acts as the token's owner."""
    check = token_check(request)
    if check is not None and check.token is not None:
        request.user = check.token.owner


def guard(request: HttpRequest, codes: tuple[str, ...], *, allow_session: bool) -> Any:
    """The refusal for a request that may not proceed; or None, with the owner admitted."""
    denied = refusal(request, codes, allow_session=allow_session)
    if denied is None:
        admit(request)
    return denied


def token_permission_required(
    *codes: str, allow_session: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Require a valid bearer token granting every permission in ``codes``.

    With ``allow_session=True`` a logged-in browser session is accepted too.
    Works on sync and async views alike.
    """

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                denied = await sync_to_async(guard)(request, codes, allow_session=allow_session)
                return denied if denied is not None else await view(request, *args, **kwargs)

            return async_wrapper

        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            denied = guard(request, codes, allow_session=allow_session)
            return denied if denied is not None else view(request, *args, **kwargs)

        return wrapper

    return decorator


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Require a valid bearer token with at least some access (not No Access)."""
    return token_permission_required()(view)


class TokenRequiredMixin:
    """The class-based view guard: the same answers as ``token_permission_required``.

    Set ``token_permissions`` to the codes every request needs, and
    ``allow_session = True`` to let a logged-in browser session in too. Put it
    first among the bases so it runs before the view's own ``dispatch``.
    """

    token_permissions: tuple[str, ...] = ()
    allow_session: bool = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "view_is_async", False):
            return self._async_dispatch(request, *args, **kwargs)
        denied = guard(request, tuple(self.token_permissions), allow_session=self.allow_session)
        if denied is not None:
            return denied
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    async def _async_dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        denied = await sync_to_async(guard)(
            request, tuple(self.token_permissions), allow_session=self.allow_session
        )
        if denied is not None:
            return denied
        return await super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
