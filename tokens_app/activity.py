"""The per-token activity log: who did what to a token, when, and from where.

Changes are recorded where they happen (the model's save and delete signals
and its ``regenerate`` hook), so the pages, the admin, an API and the shell all
leave the same trail. ``ActivityMiddleware`` remembers the request being
served, so an event can say who acted (owner, admin or the token itself) and
from which address and user agent.

Use of a token is logged without a database write on the hot path: each
process remembers the (token, address) pairs it has seen, so only the first
request from a new address reads, and only a truly new address writes. Failed
attempts against a token's identifier are rolled up into one counted line per
token, address and hour.
"""

from __future__ import annotations

import datetime
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.signals import post_save, pre_delete, pre_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tokens_app import tasks
from tokens_app.conf import policy
from tokens_app.models import AccessToken, ExpiryNotice, TokenEvent

Kind = TokenEvent.Kind
Actor = TokenEvent.Actor

ROLLUP_WINDOW = datetime.timedelta(hours=1)
SEEN_PAIRS_SIZE = 10_000
PURGE_BATCH_SIZE = 1_000

_current_request: ContextVar[HttpRequest | None] = ContextVar(
    "tokens_app_current_request", default=None
)


class ActivityMiddleware:
    """Make the request being served available to the activity log."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        reset = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(reset)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        reset = _current_request.set(request)
        try:
            return await self.get_response(request)
        finally:
            _current_request.reset(reset)


@dataclass(frozen=True, slots=True)
class Origin:
    """Who acted and from where."""

    actor: str = Actor.SYSTEM
    user_id: int | None = None
    ip: str | None = None
    user_agent: str = ""


def _user_agent(request: HttpRequest) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:255]


def origin_of(request: HttpRequest | None, token: AccessToken) -> Origin:
    """Tell apart the owner, an admin, the token itself and anyone else."""
    if request is None:
        return Origin()
    from tokens_app.auth import client_ip, token_check  # auth imports this module

    where = {"ip": client_ip(request), "user_agent": _user_agent(request)}
    check = token_check(request)
    if check is not None:
        if check.token is not None:
            return Origin(Actor.TOKEN, **where)
        return Origin(Actor.CLIENT, **where)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Origin(Actor.CLIENT, **where)
    match = getattr(request, "resolver_match", None)
    in_admin = match is not None and match.app_name == "admin"
    if in_admin or (user.pk != token.owner_id and user.is_staff):
        return Origin(Actor.ADMIN, user.pk, **where)
    if user.pk == token.owner_id:
        return Origin(Actor.OWNER, user.pk, **where)
    return Origin(Actor.SYSTEM, user.pk, **where)


def record(
    token: AccessToken,
    kind: str,
    *,
    changes: dict[str, Any] | None = None,
    origin: Origin | None = None,
    keep_link: bool = True,
) -> TokenEvent:
    """Write one event; a create or regenerate also queues the owner's email."""
    origin = origin or origin_of(_current_request.get(), token)
    fields = {
        "owner_id": token.owner_id,
        "token_name": token.name,
        "token_identifier": token.identifier,
        "kind": kind,
        "actor": origin.actor,
        "actor_user_id": origin.user_id,
        "ip": origin.ip,
        "user_agent": origin.user_agent,
        "changes": changes or {},
    }
    try:
        with transaction.atomic():
            event = TokenEvent.objects.create(token=token if keep_link else None, **fields)
    except IntegrityError:
        if not keep_link:
            raise
        # The token was deleted by a concurrent request: keep the event, unlinked.
        event = TokenEvent.objects.create(token=None, **fields)
    if kind in {Kind.CREATED, Kind.REGENERATED}:
        tasks.queue_new_token_email(event.pk)
    return event


# -- changes, through the model ------------------------------------------------


@receiver(post_save, sender=AccessToken, dispatch_uid="tokens_app_activity_saved")
def _saved(sender: type, instance: AccessToken, created: bool, raw: bool, **kwargs: Any) -> None:
    if raw:
        return
    if created:
        record(
            instance,
            Kind.CREATED,
            changes={
                "permissions": list(instance.permissions),
                "expires_at": instance.expires_at.isoformat(),
            },
        )
        return
    before = getattr(instance, "_activity_before", None)
    if before is None:
        return
    del instance._activity_before
    if before["name"] != instance.name:
        record(instance, Kind.RENAMED, changes={"name": [before["name"], instance.name]})
    if sorted(before["permissions"]) != sorted(instance.permissions):
        record(
            instance,
            Kind.PERMISSIONS_CHANGED,
            changes={"permissions": [before["permissions"], list(instance.permissions)]},
        )


@receiver(pre_save, sender=AccessToken, dispatch_uid="tokens_app_activity_saving")
def _saving(sender: type, instance: AccessToken, raw: bool, **kwargs: Any) -> None:
    """Read the stored name and permissions, so the saved signal can say what changed."""
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None or instance._state.adding:
        return
    if update_fields is not None and not {"name", "permissions"} & set(update_fields):
        return
    before = AccessToken.objects.filter(pk=instance.pk).values("name", "permissions").first()
    if before is not None:
        instance._activity_before = before  # type: ignore[attr-defined]


@receiver(pre_delete, sender=AccessToken, dispatch_uid="tokens_app_activity_deleted")
def _deleted(sender: type, instance: AccessToken, origin: Any = None, **kwargs: Any) -> None:
    """Log a deletion, unless the owner's account is going (their log goes with it)."""
    started_here = origin is None or isinstance(origin, AccessToken)
    started_here = started_here or getattr(origin, "model", None) is AccessToken
    if started_here:
        record(instance, Kind.DELETED, keep_link=False)


def regenerated(token: AccessToken, *, previous_expiry: datetime.datetime) -> None:
    """Called by ``AccessToken.regenerate``, which writes with an UPDATE and sends no signal."""
    record(
        token,
        Kind.REGENERATED,
        changes={"expires_at": [previous_expiry.isoformat(), token.expires_at.isoformat()]},
    )


# -- use, through check_token --------------------------------------------------


class SeenPairs:
    """Pairs this process has already logged, at most ``size`` of them, newest last."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pairs: OrderedDict[tuple[int, Any], None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, pair: tuple[int, Any]) -> bool:
        with self._lock:
            if pair in self._pairs:
                self._pairs.move_to_end(pair)
                return True
            return False

    def add(self, pair: tuple[int, Any]) -> None:
        with self._lock:
            self._pairs[pair] = None
            self._pairs.move_to_end(pair)
            while len(self._pairs) > self.size:
                self._pairs.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._pairs.clear()


# (token id, address) pairs and (token id, expiry) pairs already in the log.
known_addresses = SeenPairs(SEEN_PAIRS_SIZE)
noticed_expiries = SeenPairs(SEEN_PAIRS_SIZE)


def forget_seen() -> None:
    """Drop what this process remembers (for tests; the log itself is untouched)."""
    known_addresses.clear()
    noticed_expiries.clear()


def note_use(token: AccessToken, request: HttpRequest | None) -> None:
    """Log the first use of a token from each address. Free once a pair is known."""
    if request is None:
        return
    from tokens_app.auth import client_ip  # auth imports this module

    ip = client_ip(request)
    if ip is None or (token.pk, ip) in known_addresses:
        return
    seen = TokenEvent.objects.filter(token=token, kind=Kind.NEW_ADDRESS)
    if not seen.filter(ip=ip).exists():
        used_before = seen.exists()
        event = record(
            token,
            Kind.NEW_ADDRESS,
            origin=Origin(Actor.TOKEN, ip=ip, user_agent=_user_agent(request)),
        )
        if used_before:
            tasks.queue_new_address_email(event.pk)
    known_addresses.add((token.pk, ip))


def note_refusal(token: AccessToken, request: HttpRequest | None) -> None:
    """A request named this token's identifier and was refused: say why, if it matters."""
    if token.is_expired():
        note_expired(token)
    elif token.owner.is_active:
        note_failed_attempt(token, request)


def note_expired(token: AccessToken) -> bool:
    """Log the expiry once, when it is first noticed. True if this call logged it."""
    key = (token.pk, token.expires_at)
    if key in noticed_expiries:
        return False
    logged = TokenEvent.objects.filter(
        token=token, kind=Kind.EXPIRED, created_at__gte=token.expires_at
    ).exists()
    if not logged:
        changes = {"expires_at": token.expires_at.isoformat()}
        record(token, Kind.EXPIRED, origin=Origin(), changes=changes)
    noticed_expiries.add(key)
    return not logged


def note_failed_attempt(token: AccessToken, request: HttpRequest | None) -> None:
    """Count a wrong secret against the token's line for this address and hour."""
    from tokens_app.auth import client_ip  # auth imports this module

    ip = client_ip(request) if request is not None else None
    user_agent = _user_agent(request) if request is not None else ""
    now = timezone.now()
    latest = (
        TokenEvent.objects.filter(
            token=token, kind=Kind.FAILED_ATTEMPTS, created_at__gt=now - ROLLUP_WINDOW
        )
        .filter(Q(ip=ip) if ip else Q(ip__isnull=True))
        .values_list("pk", flat=True)
        .first()
    )
    if latest is not None:
        TokenEvent.objects.filter(pk=latest).update(
            count=F("count") + 1, last_seen_at=now, user_agent=user_agent
        )
        return
    record(
        token,
        Kind.FAILED_ATTEMPTS,
        origin=Origin(Actor.CLIENT, ip=ip, user_agent=user_agent),
    )


# -- retention ------------------------------------------------------------------


def purge(*, days: int | None = None, batch_size: int = PURGE_BATCH_SIZE) -> tuple[int, int]:
    """Delete events and expiry-notice claims older than the retention, a batch at a time.

    Returns how many of each were removed. Memory stays bounded by the batch size.
    """
    days = policy().activity_retention_days if days is None else days
    cutoff = timezone.now() - datetime.timedelta(days=days)
    events = _delete_in_batches(TokenEvent.objects.older_than(days=days), batch_size)
    notices = _delete_in_batches(ExpiryNotice.objects.filter(created_at__lt=cutoff), batch_size)
    return events, notices


def _delete_in_batches(queryset: QuerySet[Any], batch_size: int) -> int:
    removed = 0
    while batch := list(queryset.order_by().values_list("pk", flat=True)[:batch_size]):
        removed += queryset.model._default_manager.filter(pk__in=batch).delete()[0]
    return removed
