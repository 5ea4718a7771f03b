"""Settings › Access Tokens. Thin views: parse, call a model method, render.

Every action is a plain POST form first; with htmx the same view answers with
a partial from the page's own template (``list.html#row`` and friends).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget, trigger_client_event
from django_htmx.middleware import HtmxDetails

from tokens_app.conf import policy
from tokens_app.forms import (
    NotificationSettingsForm,
    TokenCreateForm,
    TokenEditForm,
    TokenRegenerateForm,
)
from tokens_app.models import (
    AccessToken,
    DuplicateSubmission,
    NotificationSettings,
    StaleToken,
    TokenLimitReached,
)

LIST = "tokens_app/list.html"


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _own_token(request: HttpRequest, pk: int) -> AccessToken:
    return get_object_or_404(request.user.access_tokens, pk=pk)  # type: ignore[union-attr]


def _list_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    tokens = request.user.access_tokens.all()  # type: ignore[union-attr]
    return {"tokens": tokens, **extra}


def _partial(request: HtmxHttpRequest, name: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"{LIST}#{name}", context)


def _announce(response: HttpResponse, message: str) -> HttpResponse:
    """Tell the page's aria-live region what just happened."""
    return trigger_client_event(response, "tokens:status", {"message": message})


@sensitive_variables("secret", "context")
def _show_secret(
    request: HtmxHttpRequest, token: AccessToken, secret: str, *, created: bool
) -> HttpResponse:
    """The one response that ever holds the plaintext. Never cached, never stored."""
    context = _list_context(request, token=token, secret=secret, created=created)
    if request.htmx:
        response = _partial(request, "secret_issued", context)
        verb = "created" if created else "regenerated"
        _announce(
            response, f"Token “{token.name}” {verb}. Copy it now: it will not be shown again."
        )
    else:
        response = render(request, LIST, context)
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, private"
    return response


@require_GET
@login_required
def token_list(request: HtmxHttpRequest) -> HttpResponse:
    return render(request, LIST, _list_context(request))


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@login_required
@sensitive_variables("secret")
def token_create(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        form = TokenCreateForm(initial={"nonce": uuid.uuid4()})
        return render(request, "tokens_app/new.html", {"form": form})

    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return render(request, "tokens_app/new.html", {"form": form})
    try:
        token, secret = AccessToken.objects.issue(
            owner=request.user,  # type: ignore[arg-type]
            name=form.cleaned_data["name"],
            permissions=form.permission_list,
            expires_at=form.cleaned_data["expires_at"],
            creation_nonce=form.cleaned_data["nonce"],
        )
    except DuplicateSubmission:
        messages.info(
            request,
            "That token was already created. Its secret is shown only once, "
            "so regenerate it if you did not copy it.",
        )
        return redirect("tokens_app:list")
    except TokenLimitReached:
        form.add_error(None, TokenLimitReached.message)
        return render(request, "tokens_app/new.html", {"form": form})
    return _show_secret(request, token, secret, created=True)


@require_GET
@vary_on_headers("HX-Request")
@login_required
def token_row(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The plain row, for Cancel in the inline editor."""
    token = _own_token(request, pk)
    if not request.htmx:
        return redirect("tokens_app:list")
    return _partial(request, "row", {"token": token})


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@login_required
def token_edit(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    token = _own_token(request, pk)
    form = TokenEditForm.for_token(token, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            token.update_details(name=form.cleaned_data["name"], permissions=form.permission_list)
        except StaleToken:
            raise Http404("This token was deleted.") from None
        message = f"Token “{token.name}” saved."
        if request.htmx:
            return _announce(_partial(request, "row", {"token": token}), message)
        messages.success(request, message)
        return redirect("tokens_app:list")
    context = {"token": token, "form": form}
    if request.htmx:
        return _partial(request, "edit_row", context)
    return render(request, "tokens_app/edit.html", context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@login_required
@sensitive_variables("secret")
def token_regenerate(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    token = _own_token(request, pk)
    form = TokenRegenerateForm.for_token(token, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            secret = token.regenerate(
                expires_at=form.cleaned_data["expires_at"],
                generation=form.cleaned_data["generation"],
            )
        except StaleToken:
            form.add_error(
                None,
                "This token was regenerated elsewhere (in another tab, or by sending this "
                "form twice) since this page was loaded. "
                "Its newest secret was shown there; regenerate again if you need a new one.",
            )
        except TokenLimitReached:
            form.add_error(None, TokenLimitReached.message)
        else:
            return _show_secret(request, token, secret, created=False)
    context = {"token": token, "form": form}
    if request.htmx:
        response = _partial(request, "regenerate_form", {**context, "inline": True})
        return reswap(retarget(response, f"#regenerate-form-{token.pk}"), "outerHTML")
    return render(request, "tokens_app/regenerate.html", context)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@login_required
def token_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    token = _own_token(request, pk)
    if request.method == "GET":
        return render(request, "tokens_app/delete.html", {"token": token})
    name = token.name
    token.revoke()
    message = f"Token “{name}” deleted. Anything using it has lost access."
    if request.htmx:
        return _announce(HttpResponse(""), message)
    messages.success(request, message)
    return redirect("tokens_app:list")


ACTIVITY_PAGE_SIZE = 25


@require_GET
@login_required
def token_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """One token's facts and its activity log, newest first."""
    token = _own_token(request, pk)
    events = token.events.select_related("actor_user")
    page = Paginator(events, ACTIVITY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"token": token, "page": page, "retention_days": policy().activity_retention_days}
    return render(request, "tokens_app/detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def notification_settings(request: HtmxHttpRequest) -> HttpResponse:
    """Which token emails to get. Unchecked boxes send nothing, so bind on method, not data."""
    preferences = NotificationSettings.for_user(request.user)  # type: ignore[arg-type]
    data = request.POST if request.method == "POST" else None
    form = NotificationSettingsForm(data, instance=preferences)
    if data is not None and form.is_valid():
        form.save()
        messages.success(request, "Notification settings saved.")
        return redirect("tokens_app:notifications")
    return render(request, "tokens_app/notifications.html", {"form": form})
