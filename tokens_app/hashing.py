"""Secrets at rest: argon2id hashes, and a per-process memory of verified ones.

argon2 is slow by design (hundreds of milliseconds with strong parameters), so
it must stay off the hot path. After a secret verifies once against a stored
hash, this process remembers the pair as ``HMAC(SECRET_KEY, token) -> hash``.
The next request with that token loads the row as usual and, if the row still
holds the same hash, skips argon2. A regenerated token has a new hash and a
deleted one has no row, so both are refused on their very next request in
every process: the database, not the memory, decides.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from tokens_app.conf import policy


def hasher() -> PasswordHasher:
    params = policy().argon2
    return PasswordHasher(
        time_cost=params["time_cost"],
        memory_cost=params["memory_cost"],
        parallelism=params["parallelism"],
    )


# No names given: every variable here and in argon2's frames below (its own
# ``password`` among them) is hidden from error reports.
@sensitive_variables()
def hash_secret(secret: str) -> str:
    return hasher().hash(secret)


@sensitive_variables()
def verify_secret(stored_hash: str, secret: str) -> bool:
    try:
        return hasher().verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


@sensitive_variables("token")
def keyed_digest(token: str) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).digest()


class VerifiedSecrets:
    """A bounded, thread-safe LRU of ``keyed digest -> stored hash``."""

    def __init__(self) -> None:
        self._entries: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    def matches(self, digest: bytes, stored_hash: str) -> bool:
        with self._lock:
            remembered = self._entries.get(digest)
            if remembered is None:
                return False
            self._entries.move_to_end(digest)
        return hmac.compare_digest(remembered, stored_hash)

    def remember(self, digest: bytes, stored_hash: str) -> None:
        with self._lock:
            self._entries[digest] = stored_hash
            self._entries.move_to_end(digest)
            while len(self._entries) > policy().verified_cache_size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


verified_secrets = VerifiedSecrets()
