"""Bound the argon2 work that wrong secrets can cause.

A well-formed token naming a real row costs one argon2 verify when its secret
is not yet known to this process. Without a bound, anyone who learns a public
id (it is shown in the UI and in logs) could make the server hash without end.
So every argon2 verify first reserves an attempt against two counters, one per
token id and one per client address, in Django's cache (shared by all workers
when the cache is Redis). A successful verify gives its attempt back, so only
failures use up the budget. Over the limit the caller answers 429.

The owner's real token keeps working while its id is throttled: requests this
process has already verified never reach argon2, and a successful verify
leaves a keyed voucher in the cache that lets other processes accept the same
token (and only while the row still holds the same hash) without argon2.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass

from django.core.cache import BaseCache, caches

from tokens_app.conf import policy

_NAMESPACE = "tokens_app:throttle"
# A voucher outlives any throttle window, so a token verified once keeps working
# everywhere while an attacker holds its id over the limit.
_VOUCHER_SECONDS = 24 * 60 * 60


@dataclass(frozen=True, slots=True)
class Refused:
    """An attempt over the limit, and how long until the window ends."""

    retry_after: int


def _cache() -> BaseCache:
    return caches[policy().throttle["CACHE"]]


def _window() -> tuple[int, int]:
    """The current fixed window's start and the seconds left in it."""
    length = int(policy().throttle["WINDOW"])
    now = time.time()
    start = int(now // length) * length
    return start, max(1, math.ceil(start + length - now))


def _counters(public_id: str, address: str | None) -> dict[str, int]:
    settings = policy().throttle
    start, _ = _window()
    counters = {f"{_NAMESPACE}:{start}:token:{public_id}": int(settings["FAILURES_PER_TOKEN"])}
    if address:
        counters[f"{_NAMESPACE}:{start}:address:{address}"] = int(settings["FAILURES_PER_ADDRESS"])
    return counters


def _increment(cache: BaseCache, key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def reserve(public_id: str, address: str | None) -> Refused | None:
    """Count one argon2 attempt, or refuse it when a counter is at its limit.

    Incrementing first and checking the result keeps concurrent attempts from
    slipping past the limit together.
    """
    cache = _cache()
    _, remaining = _window()
    taken: list[str] = []
    for key, limit in _counters(public_id, address).items():
        taken.append(key)
        if _increment(cache, key, remaining + 1) > limit:
            for done in taken:
                cache.decr(done)
            return Refused(retry_after=remaining)
    return None


def release(public_id: str, address: str | None) -> None:
    """Give back an attempt that verified: only failures use up the budget."""
    cache = _cache()
    for key in _counters(public_id, address):
        try:
            cache.decr(key)
        except ValueError:  # the window rolled over meanwhile
            continue


def _voucher_key(public_id: str) -> str:
    return f"{_NAMESPACE}:verified:{public_id}"


def _voucher(digest: bytes, stored_hash: str) -> str:
    return hmac.new(digest, stored_hash.encode(), hashlib.sha256).hexdigest()


def vouch(public_id: str, digest: bytes, stored_hash: str) -> None:
    """Record that the token with this keyed digest verified against this hash."""
    _cache().set(_voucher_key(public_id), _voucher(digest, stored_hash), timeout=_VOUCHER_SECONDS)


def vouched(public_id: str, digest: bytes, stored_hash: str) -> bool:
    remembered = _cache().get(_voucher_key(public_id))
    return isinstance(remembered, str) and hmac.compare_digest(
        remembered, _voucher(digest, stored_hash)
    )
