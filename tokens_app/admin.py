"""Django admin for tokens: every token, never a secret.

The secret hash is not a field of any admin form, column, filter or search, and
the changelist refuses URL lookups on it, so it cannot be read even one
character at a time. Creating a token here goes through the same
``AccessToken.objects.issue`` as the Settings page, with the same name, expiry
and per-user rules, and the plaintext is shown once on the response itself.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as bulk_delete
from django.contrib.admin.options import IS_POPUP_VAR, ActionLocation
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_variables

from tokens_app import format
from tokens_app.conf import policy
from tokens_app.forms import (
    CUSTOM_PERMISSIONS,
    ExpirationMixin,
    PermissionsMixin,
    TokenNameField,
    choice_from_permissions,
)
from tokens_app.models import (
    FULL_ACCESS,
    AccessToken,
    AccessTokenQuerySet,
    DuplicateSubmission,
    StaleToken,
    TokenEvent,
    TokenLimitReached,
)

# Fields no admin URL may filter, search or order on.
SECRET_FIELDS = frozenset({"secret_hash", "creation_nonce"})
STATUS_LABELS = {"active": "Active", "expiring": "Expiring soon", "expired": "Expired"}


def _soon() -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=policy().expiring_soon_days)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(STATUS_LABELS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "active":
            return queryset.filter(expires_at__gt=_soon())
        if self.value() == "expiring":
            return queryset.filter(expires_at__gt=timezone.now(), expires_at__lte=_soon())
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=timezone.now())
        return None


class PermissionFilter(admin.SimpleListFilter):
    title = "permissions"
    parameter_name = "access"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("full", "Full Access"), ("none", "No Access"), ("custom", "Custom")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        # Exact JSON matches work on every backend; "contains" does not on SQLite.
        full, none = Q(permissions=[FULL_ACCESS]), Q(permissions=[])
        if self.value() == "full":
            return queryset.filter(full)
        if self.value() == "none":
            return queryset.filter(none)
        if self.value() == "custom":
            return queryset.exclude(full | none)
        return None


class ExpiresFilter(admin.SimpleListFilter):
    title = "expires"
    parameter_name = "expires"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("past", "Already expired"),
            ("7", "In the next 7 days"),
            ("30", "In the next 30 days"),
            ("later", "In more than 30 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        now = timezone.now()
        if self.value() == "past":
            return queryset.filter(expires_at__lte=now)
        if self.value() in {"7", "30"}:
            end = now + datetime.timedelta(days=int(self.value() or 0))
            return queryset.filter(expires_at__gt=now, expires_at__lte=end)
        if self.value() == "later":
            return queryset.filter(expires_at__gt=now + datetime.timedelta(days=30))
        return None


class CreatedFilter(admin.DateFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "created"


class AccessTokenChangeForm(PermissionsMixin, forms.ModelForm):
    """Rename and re-scope: the same fields and rules as the owner's Edit form."""

    name = TokenNameField(label="Name")

    class Meta:
        model = AccessToken
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choice = choice_from_permissions(self.instance.permissions or [])
        self.initial["permissions"] = choice
        if choice == CUSTOM_PERMISSIONS:
            self.initial["permission_codes"] = self.instance.effective_permissions


class AccessTokenIssueForm(PermissionsMixin, ExpirationMixin):
    """Create a token on someone's behalf, under the Settings page's rules."""

    owner = forms.CharField(
        label="Owner",
        help_text="The username of the person the token is for.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    name = TokenNameField(label="Name")
    nonce = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form is out of date. Reload the page and try again.",
            "invalid": "This form is out of date. Reload the page and try again.",
        },
    )

    field_order = [
        "owner",
        "name",
        "expiration",
        "expires_on",
        "permissions",
        "permission_codes",
    ]

    def clean_owner(self) -> Any:
        username = self.cleaned_data["owner"].strip()
        users = get_user_model()._default_manager
        try:
            return users.get(**{users.model.USERNAME_FIELD: username})
        except users.model.DoesNotExist:
            raise forms.ValidationError(f"There is no user called “{username}”.") from None


class _StatusMixin:
    @admin.display(description="identifier", ordering="public_id")
    def identifier(self, token: AccessToken) -> str:
        return token.identifier

    @admin.display(description="permissions")
    def permissions_label(self, token: AccessToken) -> str:
        return token.permissions_label

    @admin.display(description="created", ordering="created_at")
    def created(self, token: AccessToken) -> str:
        return _when(token.created_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, token: AccessToken) -> str:
        return "Never" if token.never_expires else _when(token.expires_at)

    @admin.display(description="last used", ordering="last_used_at")
    def last_used(self, token: AccessToken) -> str:
        return _when(token.last_used_at) if token.last_used_at else "Never"

    @admin.display(description="regenerated")
    def regenerated(self, token: AccessToken) -> str:
        return _when(token.regenerated_at) if token.regenerated_at else "Never"

    @admin.display(description="status", ordering="expires_at")
    def status_label(self, token: AccessToken) -> str:
        return STATUS_LABELS[token.status]


@admin.register(AccessToken)
class AccessTokenAdmin(_StatusMixin, admin.ModelAdmin):
    list_display = [
        "owner",
        "name",
        "identifier",
        "permissions_label",
        "created",
        "expires",
        "last_used",
        "status_label",
    ]
    list_display_links = ["name"]
    list_select_related = ["owner"]
    list_filter = [
        StatusFilter,
        PermissionFilter,
        ("created_at", CreatedFilter),
        ExpiresFilter,
    ]
    search_fields = ["owner__username", "owner__email", "name", "public_id"]
    search_help_text = "Owner's username or email, token name, or identifier (djpat_…)."
    actions = ["delete_selected", "expire_selected"]
    form = AccessTokenChangeForm
    fieldsets = [
        (None, {"fields": ["owner", "identifier", "name", "permissions", "permission_codes"]}),
        (
            "Lifetime and use",
            {
                "fields": [
                    "status_label",
                    "created",
                    "expires",
                    "regenerated",
                    "last_used",
                    "last_used_ip",
                ]
            },
        ),
    ]
    readonly_fields = [
        "owner",
        "identifier",
        "status_label",
        "created",
        "expires",
        "regenerated",
        "last_used",
        "last_used_ip",
    ]

    # -- the changelist ------------------------------------------------------

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        if lookup.split("__", 1)[0] in SECRET_FIELDS:
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Also find a token by its identifier, or by a whole pasted token."""
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        public_ids = [_public_id(term) for term in search_term.split()]
        found = [public_id for public_id in public_ids if public_id]
        if found:
            results |= queryset.filter(public_id__in=found)
        return results, may_have_duplicates

    @admin.action(description="Revoke selected tokens", permissions=["delete"])
    def delete_selected(
        self, request: HttpRequest, queryset: AccessTokenQuerySet
    ) -> TemplateResponse | None:
        """Django's bulk delete and its confirmation page, named for what it does here.

        It keeps the name ``delete_selected`` because the confirmation page posts it back.
        """
        return bulk_delete(self, request, queryset)

    @admin.action(
        description="Expire now",
        permissions=["change"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def expire_selected(self, request: HttpRequest, queryset: AccessTokenQuerySet) -> None:
        count = queryset.expire_now()
        if count:
            self.message_user(
                request,
                ngettext(
                    "Expired %(count)d token. It stops working at once and stays listed.",
                    "Expired %(count)d tokens. They stop working at once and stay listed.",
                    count,
                )
                % {"count": count},
                messages.SUCCESS,
            )
        else:
            self.message_user(request, "Those tokens had already expired.", messages.WARNING)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for token in queryset:
            token.revoke()

    def delete_model(self, request: HttpRequest, obj: AccessToken) -> None:
        obj.revoke()

    # -- the change form -------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: AccessToken, form: Any, change: bool) -> None:
        try:
            obj.update_details(name=form.cleaned_data["name"], permissions=form.permission_list)
        except StaleToken:
            raise Http404("This token was revoked while you were editing it.") from None

    # -- creating a token for someone -------------------------------------

    @sensitive_variables("secret")
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """Issue a token, then show its secret on this one response and nowhere else."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = AccessTokenIssueForm(request.POST)
            if form.is_valid():
                try:
                    token, secret = AccessToken.objects.issue(
                        owner=form.cleaned_data["owner"],
                        name=form.cleaned_data["name"],
                        permissions=form.permission_list,
                        expires_at=form.cleaned_data["expires_at"],
                        creation_nonce=form.cleaned_data["nonce"],
                    )
                except DuplicateSubmission:
                    self.message_user(
                        request,
                        "That token was already created. Its secret was shown once; "
                        "revoke it and create another if it was not copied.",
                        messages.WARNING,
                    )
                    return HttpResponseRedirect(reverse("admin:tokens_app_accesstoken_changelist"))
                except TokenLimitReached:
                    form.add_error(
                        None,
                        f"{form.cleaned_data['owner']} already has the maximum of "
                        f"{policy().max_tokens_per_user} active tokens. "
                        "Revoke or expire one of theirs first.",
                    )
                else:
                    self.log_addition(request, token, [{"added": {}}])
                    return self._issued(request, token, secret)
        else:
            form = AccessTokenIssueForm(
                initial={"owner": request.GET.get("owner", ""), "nonce": uuid.uuid4()}
            )
        return self._issue_form(request, form, form_url)

    def _issue_form(
        self, request: HttpRequest, form: AccessTokenIssueForm, form_url: str
    ) -> TemplateResponse:
        fieldsets = [(None, {"fields": list(form.fields)})]
        adminform = helpers.AdminForm(form, fieldsets, {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": "Add access token",
            "subtitle": None,
            "adminform": adminform,
            "object_id": None,
            "original": None,
            "is_popup": IS_POPUP_VAR in request.GET,
            "to_field": None,
            "media": self.media + adminform.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
        }
        return self.render_change_form(request, context, add=True, form_url=form_url)

    @sensitive_variables("secret")
    def _issued(self, request: HttpRequest, token: AccessToken, secret: str) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": "New access token",
            "opts": self.opts,
            "token": token,
            "secret": secret,
        }
        request.current_app = self.admin_site.name
        response = TemplateResponse(request, "admin/tokens_app/accesstoken/issued.html", context)
        response["Cache-Control"] = "no-store, private"
        return response


def _when(moment: datetime.datetime) -> str:
    """A date as the admin shows its own date columns, in the current time zone."""
    return formats.localize(timezone.template_localtime(moment))


def _public_id(term: str) -> str | None:
    """The public id in an identifier (``djpat_AbC…``) or a whole token, if it is one."""
    parsed = format.parse(term)
    if parsed:
        return parsed.public_id
    prefix, _, public_id = term.rpartition("_")
    if prefix and len(public_id) == format.PUBLIC_ID_LENGTH and public_id.isalnum():
        return public_id
    return None


class AccessTokenInline(_StatusMixin, admin.TabularInline):
    """A user's tokens, read-only, for the User change page.

    The app does not touch the project's User admin; add this to its inlines
    (the demo site does it in config/admin.py).
    """

    model = AccessToken
    fk_name = "owner"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = "access tokens"
    fields = [
        "name",
        "identifier",
        "permissions_label",
        "created",
        "expires",
        "last_used",
        "status_label",
        "revoke",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="")
    def revoke(self, token: AccessToken) -> str:
        url = reverse("admin:tokens_app_accesstoken_delete", args=[token.pk])
        return format_html('<a href="{}">Revoke…</a>', url)


@admin.register(TokenEvent)
class TokenEventAdmin(admin.ModelAdmin):
    """The activity log, read-only: what the owners see on their tokens' pages, for everyone."""

    list_display = ["created_at", "kind", "token_name", "token_identifier", "owner", "actor", "ip"]
    list_filter = ["kind", "actor", ("created_at", admin.DateFieldListFilter)]
    list_select_related = ["owner"]
    search_fields = [
        "token_name",
        "token_identifier",
        "owner__username",
        "owner__email",
        "=ip",
        "user_agent",
    ]
    date_hierarchy = "created_at"
    fields = [
        "created_at",
        "kind",
        "description",
        "token",
        "token_name",
        "token_identifier",
        "owner",
        "actor",
        "actor_user",
        "ip",
        "user_agent",
        "changes",
        "count",
        "last_seen_at",
    ]
    readonly_fields = fields

    @admin.display(description="what happened")
    def description(self, event: TokenEvent) -> str:
        return event.description

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
