"""The token emails: who gets them, what they say, and which expiry reminders are due.

Every email names the token and links to its page; none holds a secret. Each
has a text part and an HTML part, both rendered from templates in
``tokens_app/email/`` with the token's name made safe for that medium.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from tokens_app.conf import policy
from tokens_app.models import AccessToken, ExpiryNotice, NotificationSettings, TokenEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Stage = ExpiryNotice.Stage

# How long before expiry each reminder goes out. A token issued after that
# moment (say, a 7-day token) skips the reminder: its owner just chose the date.
STAGE_LEAD = {
    Stage.WEEK: datetime.timedelta(days=7),
    Stage.DAY: datetime.timedelta(days=1),
    Stage.EXPIRED: datetime.timedelta(0),
}
# An expiry older than this is not announced any more (say, on a first run).
EXPIRED_GRACE = datetime.timedelta(days=7)


def absolute_url(path: str) -> str:
    return policy().site_url.rstrip("/") + path


def token_url(token_pk: int) -> str:
    return absolute_url(reverse("tokens_app:detail", args=[token_pk]))


def wants(user: AbstractBaseUser, kind: str) -> bool:
    """Whether the user can and wants to get this kind of email (a NotificationSettings field)."""
    if not user.is_active or not getattr(user, "email", ""):
        return False
    return bool(getattr(NotificationSettings.for_user(user), kind))


def _send(user: AbstractBaseUser, template: str, context: dict[str, Any]) -> None:
    context = {
        **context,
        "user": user,
        "settings_url": absolute_url(reverse("tokens_app:notifications")),
    }
    subject = render_to_string(f"tokens_app/email/{template}_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string(f"tokens_app/email/{template}.txt", context),
        to=[user.email],  # type: ignore[attr-defined]
    )
    message.attach_alternative(
        render_to_string(f"tokens_app/email/{template}.html", context), "text/html"
    )
    message.send()


# -- a token was created, regenerated or used from a new address ----------------


def send_new_token_email(event_id: int) -> bool:
    """Tell the owner a token was created or regenerated, so a takeover shows up."""
    event = TokenEvent.objects.select_related("owner", "token").filter(pk=event_id).first()
    if event is None or not wants(event.owner, "new_token_emails"):
        return False
    _send(event.owner, "new_token", _event_context(event))
    return True


def send_new_address_email(event_id: int) -> bool:
    event = TokenEvent.objects.select_related("owner", "token").filter(pk=event_id).first()
    if event is None or not wants(event.owner, "new_address_emails"):
        return False
    _send(event.owner, "new_address", _event_context(event))
    return True


def _event_context(event: TokenEvent) -> dict[str, Any]:
    token = event.token
    return {
        "event": event,
        "name": event.token_name,
        "identifier": event.token_identifier,
        "token": token,
        "expires_at": token.expires_at if token is not None else None,
        "url": token_url(token.pk)
        if token is not None
        else absolute_url(reverse("tokens_app:list")),
        "regenerated": event.kind == TokenEvent.Kind.REGENERATED,
    }


# -- expiry reminders -------------------------------------------------------------


def due(stage: str, now: datetime.datetime | None = None) -> QuerySet[AccessToken]:
    """Tokens whose reminder for ``stage`` is due and not yet claimed for their current expiry."""
    now = now or timezone.now()
    tokens = (
        AccessToken.objects.filter(owner__is_active=True)
        .exclude(owner__email="")
        .exclude(owner__token_notification_settings__expiry_emails=False)
    )
    if stage == Stage.EXPIRED:
        tokens = tokens.filter(expires_at__lte=now, expires_at__gt=now - EXPIRED_GRACE)
    else:
        lead = STAGE_LEAD[stage]
        shorter = {Stage.WEEK: STAGE_LEAD[Stage.DAY], Stage.DAY: datetime.timedelta(0)}[stage]
        tokens = tokens.alias(issued_at=Coalesce("regenerated_at", "created_at")).filter(
            expires_at__gt=now + shorter,
            expires_at__lte=now + lead,
            issued_at__lt=F("expires_at") - lead,
        )
    claimed = ExpiryNotice.objects.filter(
        token=OuterRef("pk"), stage=stage, expires_at=OuterRef("expires_at")
    )
    return tokens.exclude(Exists(claimed)).order_by("pk")


def claim(token: AccessToken, stage: str) -> ExpiryNotice | None:
    """Claim the reminder for the token's current expiry; None if a run already did."""
    try:
        with transaction.atomic():
            return ExpiryNotice.objects.create(
                token=token, stage=stage, expires_at=token.expires_at
            )
    except IntegrityError:
        return None


def send_expiry_email(notice_id: int) -> bool:
    """Send one claimed reminder, at most once even if the task runs twice."""
    notice = ExpiryNotice.objects.select_related("token__owner").filter(pk=notice_id).first()
    if notice is None or notice.token.expires_at != notice.expires_at:
        return False  # deleted or regenerated since the claim
    owner = notice.token.owner
    if not wants(owner, "expiry_emails"):
        return False
    if not ExpiryNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(
        sent_at=timezone.now()
    ):
        return False
    context = {
        "token": notice.token,
        "name": notice.token.name,
        "identifier": notice.token.identifier,
        "expires_at": notice.expires_at,
        "expired": notice.stage == Stage.EXPIRED,
        "url": token_url(notice.token.pk),
    }
    try:
        _send(owner, "expiry", context)
    except Exception:
        ExpiryNotice.objects.filter(pk=notice.pk).update(sent_at=None)  # let a retry send it
        raise
    return True
