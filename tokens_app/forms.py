"""Forms for creating, editing and regenerating tokens. One set of rules for all three."""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from tokens_app import permissions as registry
from tokens_app.conf import policy
from tokens_app.models import (
    FULL_ACCESS,
    NO_EXPIRATION,
    AccessToken,
    NotificationSettings,
    validate_expiry,
)

NAME_MAX_LENGTH = 63
NAME_HELP = (
    f"Up to {NAME_MAX_LENGTH} characters, to remind you what the token is for. "
    "Control, zero-width and text-direction characters are not allowed."
)
# Unicode categories refused in names: controls, format characters (zero-width
# joiners, bidirectional overrides), surrogates, private use, unassigned, and
# line or paragraph separators.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
ZERO_WIDTH_JOINER = "\u200d"
# Scripts stack two or three marks on a letter at most; dozens are "Zalgo" text.
MAX_COMBINING_MARKS = 4
_COMBINING_MARKS = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
_MARK_PILE = re.compile(rf"{_COMBINING_MARKS}{{{MAX_COMBINING_MARKS + 1},}}")

NO_ACCESS, FULL, CUSTOM_PERMISSIONS = "none", "full", "custom"
PERMISSION_CHOICES = [
    (NO_ACCESS, "No Access"),
    (FULL, "Full Access"),
]
CUSTOM = "custom"
# Offered only when ACCESS_TOKENS["ALLOW_NO_EXPIRATION"] is on.
NEVER = "never"


def clean_token_name(value: str) -> str:
    name = unicodedata.normalize("NFC", value).strip()
    if not name:
        raise ValidationError("Enter a name for the token.", code="required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            f"Use at most {NAME_MAX_LENGTH} characters (this name has {len(name)}).",
            code="max_length",
        )
    if any(
        unicodedata.category(ch) in _REFUSED_CATEGORIES and not _joins_emoji(name, i)
        for i, ch in enumerate(name)
    ):
        raise ValidationError(
            "The name contains control, zero-width or text-direction characters. "
            "Remove them and try again.",
            code="invalid_characters",
        )
    if _MARK_PILE.search(name):
        raise ValidationError(
            f"The name stacks more than {MAX_COMBINING_MARKS} accents on one letter, "
            "which draws over the rows around it. Remove some and try again.",
            code="too_many_marks",
        )
    return name


def _joins_emoji(name: str, index: int) -> bool:
    """A zero-width joiner inside an emoji sequence (👩‍💻) is part of the picture, not a trick."""
    if name[index] != ZERO_WIDTH_JOINER or not 0 < index < len(name) - 1:
        return False
    before, after = name[index - 1], name[index + 1]
    return (
        unicodedata.category(before) in {"So", "Sk", "Mn"} and unicodedata.category(after) == "So"
    )


def permission_choices() -> list[tuple[str, str]]:
    """No Access and Full Access, plus Custom once the project declares permissions."""
    if registry.declared():
        return [*PERMISSION_CHOICES, (CUSTOM_PERMISSIONS, "Custom")]
    return list(PERMISSION_CHOICES)


def permissions_from_choice(choice: str, codes: list[str] | None = None) -> list[str]:
    if choice == FULL:
        return [FULL_ACCESS]
    if choice == CUSTOM_PERMISSIONS:
        return registry.validate(codes or [])
    return []


def choice_from_permissions(permissions: list[str]) -> str:
    if FULL_ACCESS in permissions:
        return FULL
    return CUSTOM_PERMISSIONS if registry.expand(permissions) else NO_ACCESS


def end_of_day(day: datetime.date, now: datetime.datetime) -> datetime.datetime:
    """A token "expiring on" a date works through that whole day, in the site's time zone.

    On the last day the policy allows, it ends at the maximum lifetime instead,
    so the latest date the form offers is always accepted.
    """
    last = timezone.make_aware(datetime.datetime.combine(day, datetime.time.max))
    cap = now + datetime.timedelta(days=policy().max_lifetime_days)
    return cap if timezone.localdate(cap) == day and last > cap else last


class TokenNameField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Token Name")
        kwargs.setdefault("help_text", NAME_HELP)
        kwargs.setdefault("strip", False)
        kwargs.setdefault("error_messages", {"required": "Enter a name for the token."})
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "maxlength": str(NAME_MAX_LENGTH)})

    def clean(self, value: Any) -> str:
        return clean_token_name(super().clean(value))


class PermissionsField(forms.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Permissions")
        kwargs.setdefault("choices", permission_choices)
        kwargs.setdefault("initial", NO_ACCESS)
        kwargs.setdefault("widget", forms.RadioSelect)
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": "Choose No Access or Full Access.", "required": "Choose a level."},
        )
        super().__init__(**kwargs)


class PermissionCodesField(forms.MultipleChoiceField):
    """The Custom checkboxes. Choices are read per form, so a changed setting shows at once."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Custom permissions")
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        kwargs.setdefault("choices", lambda: [(p.code, p.label) for p in registry.declared()])
        kwargs.setdefault(
            "error_messages",
            {
                "invalid_choice": "“%(value)s” is not a permission this site declares. "
                "Choose from the permissions listed.",
            },
        )
        super().__init__(**kwargs)


@dataclass(frozen=True)
class PermissionOption:
    permission: registry.Permission
    id: str
    checked: bool
    implied_labels: tuple[str, ...]


class PermissionsMixin(forms.Form):
    """No Access, Full Access or Custom, and the declared codes Custom is made of."""

    permissions = PermissionsField()
    permission_codes = PermissionCodesField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if registry.declared():
            self.fields["permissions"].error_messages["invalid_choice"] = (
                "Choose No Access or Full Access. Custom lets you pick permissions one by one."
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        choice = cleaned.get("permissions")
        if choice is None or "permission_codes" in self.errors:
            return cleaned
        codes = cleaned.get("permission_codes") or []
        if choice == CUSTOM_PERMISSIONS and not codes:
            self.add_error("permission_codes", "Choose at least one permission, or pick No Access.")
            return cleaned
        try:
            cleaned["permission_list"] = permissions_from_choice(choice, codes)
        except ValidationError as error:
            self.add_error("permission_codes", error)
        return cleaned

    @property
    def permission_list(self) -> list[str]:
        return self.cleaned_data["permission_list"]

    def permission_option_groups(self) -> list[tuple[str, list[PermissionOption]]]:
        """The declared permissions under their headings, as checkboxes for the template."""
        field = self["permission_codes"]
        selected = {str(code) for code in (field.value() or [])}
        by_code = {p.code: p for p in registry.declared()}
        options: list[tuple[str, list[PermissionOption]]] = []
        index = 0
        for group in registry.groups():
            row = []
            for permission in group.permissions:
                implied = tuple(by_code[c].label for c in permission.implies if c in by_code)
                row.append(
                    PermissionOption(
                        permission, f"{field.auto_id}_{index}", permission.code in selected, implied
                    )
                )
                index += 1
            options.append((group.name, row))
        return options


class ExpirationMixin(forms.Form):
    """Preset durations plus a custom date, turned into an ``expires_at`` in the future."""

    expiration = forms.ChoiceField(
        label="Expiration",
        error_messages={"invalid_choice": "Choose one of the offered durations or a custom date."},
    )
    expires_on = forms.DateField(
        label="Custom expiration date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter a real date, as YYYY-MM-DD."},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        presets = policy().expiration_presets
        self.fields["expiration"].choices = [
            *((str(days), f"{days} days") for days in presets),
            (CUSTOM, "Custom date…"),
            *([(NEVER, "No expiration")] if policy().allow_no_expiration else []),
        ]
        self.fields["expiration"].initial = str(policy().default_expiration)
        today = timezone.localdate()
        last = (timezone.now() + datetime.timedelta(days=policy().max_lifetime_days)).date()
        self.fields["expires_on"].widget.attrs.update(
            {"min": (today + datetime.timedelta(days=1)).isoformat(), "max": last.isoformat()}
        )
        self.fields[
            "expires_on"
        ].help_text = (
            f"Used when “Custom date” is chosen. At most {policy().max_lifetime_days} days ahead."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        choice = cleaned.get("expiration")
        if choice is None:
            return cleaned
        now = timezone.now()
        if choice == CUSTOM:
            day = cleaned.get("expires_on")
            if day is None:
                if "expires_on" not in self.errors:
                    self.add_error("expires_on", "Pick the date the token should expire.")
                return cleaned
            if day <= timezone.localdate(now):
                self.add_error(
                    "expires_on",
                    "The expiration date must be in the future: pick a date after today.",
                )
                return cleaned
            expires_at = end_of_day(day, now)
        elif choice == NEVER:
            expires_at = NO_EXPIRATION
        else:
            expires_at = now + datetime.timedelta(days=int(choice))
        try:
            validate_expiry(expires_at, now)
        except ValidationError as error:
            self.add_error("expires_on" if choice == CUSTOM else "expiration", error)
        else:
            cleaned["expires_at"] = expires_at
        return cleaned


class TokenCreateForm(ExpirationMixin, PermissionsMixin):
    name = TokenNameField()
    nonce = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form is out of date. Reload the page and try again.",
            "invalid": "This form is out of date. Reload the page and try again.",
        },
    )

    field_order = ["name", "expiration", "expires_on", "permissions", "permission_codes"]


class TokenEditForm(PermissionsMixin):
    name = TokenNameField()

    field_order = ["name", "permissions", "permission_codes"]

    @classmethod
    def for_token(cls, token: AccessToken, data: Any = None) -> TokenEditForm:
        choice = choice_from_permissions(token.permissions)
        initial = {
            "name": token.name,
            "permissions": choice,
            "permission_codes": token.effective_permissions if choice == CUSTOM_PERMISSIONS else [],
        }
        return cls(data=data, initial=initial, auto_id=f"edit-{token.pk}-%s")


class TokenRegenerateForm(ExpirationMixin):
    generation = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={
            "required": "This form is out of date. Reload the page and try again.",
            "invalid": "This form is out of date. Reload the page and try again.",
            "min_value": "This form is out of date. Reload the page and try again.",
        },
    )

    @classmethod
    def for_token(cls, token: AccessToken, data: Any = None) -> TokenRegenerateForm:
        return cls(
            data=data, initial={"generation": token.generation}, auto_id=f"regen-{token.pk}-%s"
        )


class NotificationSettingsForm(forms.ModelForm):
    """One switch per kind of token email."""

    class Meta:
        model = NotificationSettings
        fields = ["expiry_emails", "new_token_emails", "new_address_emails"]
