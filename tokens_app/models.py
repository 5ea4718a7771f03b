"""The access token and its QuerySet.

A state change of one token is a method here (``regenerate``, ``revoke``,
``update_details``); a question about many is a QuerySet method. Views only
glue HTTP to these, so the pages, the admin and the commands share one set of
rules.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from tokens_app import format
from tokens_app import permissions as registry
from tokens_app.conf import policy
from tokens_app.hashing import (
    hash_secret,
    keyed_digest,
    needs_rehash,
    verified_secrets,
    verify_secret,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

FULL_ACCESS = registry.FULL_ACCESS


class TokenLimitReached(Exception):
    """The owner already has the maximum number of active tokens."""

    message = "You have reached the limit of active tokens. Delete one you no longer use first."


class DuplicateSubmission(Exception):
    """The same create form was submitted twice; the first one won."""


class StaleToken(Exception):
    """The token changed (was regenerated or deleted) since the form was shown."""


# What "No expiration" stores when the policy allows it: expires_at stays a
# real, indexed, non-null date. Early in year 9999 so that showing it in any
# time zone cannot overflow.
NO_EXPIRATION = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)


def validate_expiry(expires_at: datetime.datetime, now: datetime.datetime | None = None) -> None:
    now = now or timezone.now()
    if expires_at == NO_EXPIRATION:
        if not policy().allow_no_expiration:
            raise ValidationError(
                "Tokens must have an expiration date on this site.", code="no_expiration"
            )
        return
    if expires_at <= now:
        raise ValidationError("The expiration date must be in the future.", code="past")
    limit = policy().max_lifetime_days
    if expires_at > now + datetime.timedelta(days=limit):
        raise ValidationError(
            f"Tokens can live at most {limit} days. Pick an earlier date.", code="too_far"
        )


class AccessTokenQuerySet(models.QuerySet["AccessToken"]):
    def active(self) -> AccessTokenQuerySet:
        return self.filter(expires_at__gt=timezone.now())

    def expired(self) -> AccessTokenQuerySet:
        return self.filter(expires_at__lte=timezone.now())

    def expiring_within(self, *, days: int) -> AccessTokenQuerySet:
        return self.active().filter(expires_at__lte=timezone.now() + datetime.timedelta(days=days))

    @sensitive_variables("raw", "parsed")
    def matching(self, raw: str) -> AccessToken | None:
        """The token whose full string this is, expired or not; None for anything else.

        For revoking a reported leak: no use is recorded, and a string that
        fails the checksum costs no query.
        """
        parsed = format.parse(raw)
        if parsed is None:
            return None
        token = (
            self.select_related("owner")
            .filter(public_id=parsed.public_id, prefix=parsed.prefix)
            .first()
        )
        if token is None or not token.check_secret(parsed.secret, keyed_digest(raw)):
            return None
        return token

    def expire_now(self) -> int:
        """End every active token in the set at once; already expired ones keep their date."""
        return self.active().update(expires_at=timezone.now())

    def purge_expired(self, *, before: datetime.datetime, batch_size: int = 1000) -> Iterator[int]:
        """Delete tokens that expired before ``before``, one batch of ids at a time.

        Yields the number deleted per batch. Memory stays bounded by the batch
        size however many rows match, each batch is a short transaction, and
        walking the primary key upwards never rescans rows already removed.
        """
        last_pk = 0
        while True:
            batch = list(
                self.filter(expires_at__lt=before, pk__gt=last_pk)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                return
            last_pk = batch[-1]
            with transaction.atomic():
                _, per_model = self.model._default_manager.filter(pk__in=batch).delete()
            yield per_model.get(self.model._meta.label, 0)

    def hold_room_for(self, owner_id: Any, *, excluding: int | None = None) -> None:
        """Inside a transaction: lock the owner's row, then refuse if they are at the limit.

        Every path that makes a token active (create, and regenerating an expired
        one) goes through here, so concurrent requests cannot overshoot the limit
        on databases with row locks.
        """
        users = get_user_model()._default_manager
        list(users.select_for_update().filter(pk=owner_id).values_list("pk"))
        active = self.model._default_manager.filter(owner_id=owner_id).active()
        if excluding is not None:
            active = active.exclude(pk=excluding)
        if active.count() >= policy().max_tokens_per_user:
            raise TokenLimitReached

    @sensitive_variables("secret")
    def issue(
        self,
        *,
        owner: AbstractBaseUser,
        name: str,
        permissions: list[str],
        expires_at: datetime.datetime,
        creation_nonce: uuid.UUID | None = None,
    ) -> tuple[AccessToken, str]:
        """Create a token and return it with its plaintext, which exists nowhere else.

        The owner's row is locked while counting, so concurrent creates at the
        per-user limit cannot overshoot it (on databases with row locks).
        """
        validate_expiry(expires_at)
        if creation_nonce and self.filter(owner=owner, creation_nonce=creation_nonce).exists():
            raise DuplicateSubmission
        secret = format.new_secret()
        secret_hash = hash_secret(secret)  # slow: done before any lock is taken
        try:
            with transaction.atomic():
                self.hold_room_for(owner.pk)
                token = self.create(
                    owner=owner,
                    name=name,
                    permissions=permissions,
                    expires_at=expires_at,
                    prefix=policy().prefix,
                    public_id=format.new_public_id(),
                    secret_hash=secret_hash,
                    creation_nonce=creation_nonce,
                )
        except IntegrityError:
            if creation_nonce and self.filter(owner=owner, creation_nonce=creation_nonce).exists():
                raise DuplicateSubmission from None
            raise
        return token, format.build(token.prefix, token.public_id, secret)


class AccessToken(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(max_length=63)
    prefix = models.CharField(max_length=20, editable=False)
    public_id = models.CharField(
        max_length=format.PUBLIC_ID_LENGTH, unique=True, editable=False, verbose_name="public id"
    )
    secret_hash = models.CharField(max_length=255, editable=False)
    # A list of permission codes; ["*"] is Full Access and [] is No Access, so
    # fine-grained codes fit beside them without rewriting rows.
    permissions = models.JSONField(default=list, blank=True)
    # Bumped by every regenerate, so a stale or repeated regenerate form is refused.
    generation = models.PositiveIntegerField(default=1, editable=False)
    # The create form's one-time nonce: a double submit cannot make two tokens.
    creation_nonce = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()
    regenerated_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)

    objects = AccessTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "access token"
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "creation_nonce"], name="tokens_app_unique_creation_nonce"
            ),
        ]
        indexes = [models.Index(fields=["owner", "expires_at"], name="tokens_app_owner_expiry")]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"

    # -- what a token is ---------------------------------------------------

    @property
    def identifier(self) -> str:
        return format.identifier(self.prefix, self.public_id)

    def is_expired(self, now: datetime.datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())

    def is_expiring_soon(self, now: datetime.datetime | None = None) -> bool:
        now = now or timezone.now()
        soon = now + datetime.timedelta(days=policy().expiring_soon_days)
        return not self.is_expired(now) and self.expires_at <= soon

    @property
    def status(self) -> str:
        now = timezone.now()
        if self.is_expired(now):
            return "expired"
        return "expiring" if self.is_expiring_soon(now) else "active"

    @property
    def has_full_access(self) -> bool:
        return FULL_ACCESS in self.permissions

    @property
    def effective_permissions(self) -> list[str]:
        """``["*"]``, or the declared codes held plus what they imply.

        A code no longer declared in the setting drops out here, quietly,
        without rewriting any row; a system check warns about it.
        """
        if self.has_full_access:
            return [FULL_ACCESS]
        return registry.expand(self.permissions)

    @property
    def has_no_access(self) -> bool:
        return not self.effective_permissions

    @property
    def permissions_label(self) -> str:
        """The compact summary for the list; the detail page shows permission_groups."""
        if self.has_full_access:
            return "Full Access"
        if self.has_no_access:
            return "No Access"
        return ", ".join(self.effective_permissions)

    @property
    def permission_groups(self) -> list[registry.Group]:
        """The granted permissions under their headings, with labels: every one for Full Access."""
        if self.has_full_access:
            return registry.groups()
        return registry.groups(self.effective_permissions)

    def has_permission(self, code: str) -> bool:
        return self.has_full_access or code in self.effective_permissions

    # -- state changes -------------------------------------------------------

    def update_details(self, *, name: str, permissions: list[str]) -> None:
        """Rename and re-scope. The secret, identifier and expiry stay as they are.

        Raises StaleToken if the token was deleted since it was loaded, so a
        racing edit neither crashes nor brings it back.
        """
        self.name = name
        self.permissions = permissions
        try:
            with transaction.atomic():  # a savepoint: the failed save leaves no broken transaction
                self.save(update_fields=["name", "permissions"])
        except self.NotUpdated:
            raise StaleToken from None

    @sensitive_variables("secret")
    def regenerate(self, *, expires_at: datetime.datetime, generation: int | None = None) -> str:
        """Give the token a new secret and expiry; the old secret dies at once.

        The update is conditional on the generation the caller saw, so of two
        simultaneous regenerates exactly one wins and the other gets StaleToken.
        Bringing an expired token back to life counts against the per-user limit.
        """
        validate_expiry(expires_at)
        seen = self.generation if generation is None else generation
        secret = format.new_secret()
        secret_hash = hash_secret(secret)
        now = timezone.now()
        with transaction.atomic():
            if self.is_expired(now):
                type(self).objects.hold_room_for(self.owner_id, excluding=self.pk)
            changed = (
                type(self)
                .objects.filter(pk=self.pk, generation=seen)
                .update(
                    secret_hash=secret_hash,
                    expires_at=expires_at,
                    regenerated_at=now,
                    generation=F("generation") + 1,
                )
            )
        if not changed:
            raise StaleToken
        previous_expiry = self.expires_at
        self.secret_hash, self.expires_at, self.regenerated_at = secret_hash, expires_at, now
        self.generation = seen + 1
        from tokens_app import activity  # activity imports this module

        activity.regenerated(self, previous_expiry=previous_expiry)
        return format.build(self.prefix, self.public_id, secret)

    def revoke(self) -> None:
        """Delete the token, its row locked first.

        A concurrent edit or regenerate then either finishes first (and its
        activity event is unlinked with the rest) or waits and finds no row.
        """
        with transaction.atomic():
            list(type(self).objects.select_for_update().filter(pk=self.pk).values_list("pk"))
            self.delete()

    def expire_now(self) -> None:
        """End the token now but keep its row, so it stays listed as expired."""
        type(self).objects.filter(pk=self.pk).expire_now()
        self.refresh_from_db(fields=["expires_at"])

    @property
    def never_expires(self) -> bool:
        return self.expires_at == NO_EXPIRATION

    # -- use -----------------------------------------------------------------

    @sensitive_variables("secret")
    def check_secret(self, secret: str, digest: bytes) -> bool:
        """Whether ``secret`` is this token's. argon2 runs once per secret and process."""
        if verified_secrets.matches(digest, self.secret_hash):
            return True
        if not verify_secret(self.secret_hash, secret):
            return False
        if needs_rehash(self.secret_hash):
            self._rehash(secret)
        verified_secrets.remember(digest, self.secret_hash)
        return True

    @sensitive_variables("secret")
    def _rehash(self, secret: str) -> None:
        """Move the stored hash to the current argon2 parameters, unless it changed meanwhile."""
        fresh = hash_secret(secret)
        type(self).objects.filter(pk=self.pk, secret_hash=self.secret_hash).update(
            secret_hash=fresh
        )
        self.secret_hash = fresh

    def record_use(self, *, ip: str | None, now: datetime.datetime | None = None) -> None:
        """Write last_used_at at most once per interval: no write on most requests."""
        now = now or timezone.now()
        threshold = now - datetime.timedelta(seconds=policy().last_used_interval)
        if self.last_used_at is not None and self.last_used_at > threshold:
            return
        fields: dict[str, Any] = {"last_used_at": now, "last_used_ip": ip}
        type(self).objects.filter(pk=self.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold)
        ).update(**fields)
        self.last_used_at, self.last_used_ip = now, ip


# -- activity log and notifications -------------------------------------------


def _access_label(permissions: list[str]) -> str:
    if FULL_ACCESS in permissions:
        return "Full Access"
    return ", ".join(sorted(permissions)) if permissions else "No Access"


class TokenEventQuerySet(models.QuerySet["TokenEvent"]):
    def older_than(self, *, days: int) -> TokenEventQuerySet:
        return self.filter(created_at__lt=timezone.now() - datetime.timedelta(days=days))


class TokenEvent(models.Model):
    """One line of a token's activity log.

    The name and identifier are copied in, so the line still says which token
    it was about after the token is deleted (``token`` is then null).
    """

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        RENAMED = "renamed", "Renamed"
        PERMISSIONS_CHANGED = "permissions_changed", "Permissions changed"
        REGENERATED = "regenerated", "Regenerated"
        DELETED = "deleted", "Deleted"
        EXPIRED = "expired", "Expired"
        NEW_ADDRESS = "new_address", "Used from a new address"
        FAILED_ATTEMPTS = "failed_attempts", "Failed attempts"
        REPORTED_LEAKED = "reported_leaked", "Reported as leaked"

    class Actor(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        TOKEN = "token", "The token itself"
        CLIENT = "client", "Unauthenticated client"
        SYSTEM = "system", "System"

    token = models.ForeignKey(
        AccessToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_token_events"
    )
    token_name = models.CharField(max_length=63)
    token_identifier = models.CharField(max_length=40, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind)
    actor = models.CharField(max_length=16, choices=Actor)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The signed-in user who acted, when it was a person.",
    )
    ip = models.GenericIPAddressField("address", null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    # What changed, as {"field": [before, after]}; never a secret or a hash.
    changes = models.JSONField(default=dict, blank=True)
    # Failed attempts are rolled up: one line per token, address and hour.
    count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    objects = TokenEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "token event"
        indexes = [
            models.Index(fields=["token", "-created_at"], name="tokens_app_event_token"),
            models.Index(fields=["token", "kind", "ip"], name="tokens_app_event_kind_ip"),
            models.Index(fields=["created_at"], name="tokens_app_event_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.token_name} ({self.token_identifier})"

    @property
    def description(self) -> str:
        """One sentence for the activity table and the admin."""
        before, after = self._change("name")
        if self.kind == self.Kind.RENAMED:
            return f"Renamed from “{before}” to “{after}”."
        if self.kind == self.Kind.PERMISSIONS_CHANGED:
            old, new = self._change("permissions")
            return f"Permissions changed from {_access_label(old)} to {_access_label(new)}."
        if self.kind == self.Kind.CREATED:
            return f"Created with {_access_label(self.changes.get('permissions', []))}."
        if self.kind == self.Kind.REGENERATED:
            return "Regenerated: a new secret and expiry; the old secret stopped working."
        if self.kind == self.Kind.DELETED:
            return "Deleted; anything using it lost access."
        if self.kind == self.Kind.EXPIRED:
            return "Expired; requests with it are refused."
        if self.kind == self.Kind.NEW_ADDRESS:
            return f"First use from {self.ip or 'an unknown address'}."
        if self.kind == self.Kind.FAILED_ATTEMPTS:
            times = "attempt" if self.count == 1 else "attempts"
            return f"{self.count} failed {times} with this token's identifier and a wrong secret."
        return f"{self.get_kind_display()}."

    def _change(self, field: str) -> tuple[Any, Any]:
        pair = self.changes.get(field)
        return (pair[0], pair[1]) if isinstance(pair, list) and len(pair) == 2 else (None, None)


class NotificationSettings(models.Model):
    """Which token emails a user wants. No row means every kind is on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="token_notification_settings",
    )
    expiry_emails = models.BooleanField(
        "Expiry reminders",
        default=True,
        help_text="7 days and 1 day before a token expires, and when it has expired.",
    )
    new_token_emails = models.BooleanField(
        "New tokens",
        default=True,
        help_text="When a token is created or regenerated on your account.",
    )
    new_address_emails = models.BooleanField(
        "Use from a new address",
        default=True,
        help_text="When a token that was used before is used from an address it never used.",
    )

    class Meta:
        verbose_name = "token notification settings"
        verbose_name_plural = "token notification settings"

    def __str__(self) -> str:
        return f"Token notification settings of {self.user}"

    @classmethod
    def for_user(cls, user: AbstractBaseUser) -> NotificationSettings:
        """The user's settings, or unsaved defaults: reading never writes."""
        found = cls.objects.filter(user=user).first()
        return found if found is not None else cls(user=user)


class ExpiryNotice(models.Model):
    """A claim that one expiry email was sent, so no run of the command sends it twice.

    It is keyed by the expiry it is about: a regenerated token has a new
    expiry and so gets its reminders afresh.
    """

    class Stage(models.TextChoices):
        WEEK = "7_days", "7 days before expiry"
        DAY = "1_day", "1 day before expiry"
        EXPIRED = "expired", "On expiry"

    token = models.ForeignKey(AccessToken, on_delete=models.CASCADE, related_name="expiry_notices")
    stage = models.CharField(max_length=16, choices=Stage)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "expiry notice"
        constraints = [
            models.UniqueConstraint(
                fields=["token", "stage", "expires_at"], name="tokens_app_one_notice_per_expiry"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="tokens_app_notice_created")]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} for token {self.token_id}"
