"""The demo site's own views: what a host project's API might look like."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from tokens_app.api import ApiError, api_view, read_object
from tokens_app.auth import token_check, token_permission_required

PROFILE_FIELDS = {"first_name": 150, "last_name": 150}


@require_GET
@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return redirect("tokens_app:list")


@api_view(["GET", "PATCH"])
def api_user(request: HttpRequest) -> HttpResponse:
    """Who am I (profile:read, or a session), and change my name (profile:write)."""
    return _update_user(request) if request.method == "PATCH" else _read_user(request)


@token_permission_required("profile:read", allow_session=True)
def _read_user(request: HttpRequest) -> JsonResponse:
    return _profile(request)


@token_permission_required("profile:write")
def _update_user(request: HttpRequest) -> JsonResponse:
    """Change first and/or last name. Tokens only: no session, so no CSRF to think about."""
    data = read_object(request, set(PROFILE_FIELDS))
    for field, limit in PROFILE_FIELDS.items():
        value = data.get(field, "")
        if not isinstance(value, str) or len(value) > limit:
            raise ApiError(
                400,
                "invalid_field",
                f"{field} must be text of at most {limit} characters.",
                field=field,
            )
    user = request.user
    for field in data:
        setattr(user, field, data[field].strip())
    if data:
        user.save(update_fields=list(data))
    return _profile(request)


def _profile(request: HttpRequest) -> JsonResponse:
    user = request.user
    check = token_check(request)
    return JsonResponse(
        {
            "id": user.pk,
            "username": user.get_username(),
            "email": getattr(user, "email", ""),
            "name": user.get_full_name() if hasattr(user, "get_full_name") else "",
            "authenticated_by": "token" if check is not None else "session",
        }
    )
