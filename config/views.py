"""The demo site's own views: what a host project's API might look like."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from tokens_app.auth import token_check, token_permission_required


@require_GET
@login_required
def settings_index(request: HttpRequest) -> HttpResponse:
    return redirect("tokens_app:list")


@require_GET
@token_permission_required("profile:read", allow_session=True)
def api_user(request: HttpRequest) -> JsonResponse:
    """Who am I? Answers for a Full Access token or a logged-in session."""
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
