from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY

from tokens_app import hashing
from tokens_app.conf import DEFAULTS
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db


def test_the_secret_is_stored_only_as_an_argon2id_phc_string(make_token: object) -> None:
    token, plaintext = make_token()  # type: ignore[operator]
    row = AccessToken.objects.values().get(pk=token.pk)
    assert row["secret_hash"].startswith("$argon2id$v=19$")
    secret = plaintext.rsplit("_", 1)[1][:30]
    for value in row.values():
        assert plaintext not in str(value)
        assert secret not in str(value)


def test_the_default_parameters_are_argon2_cffis_strong_profile() -> None:
    defaults = DEFAULTS["ARGON2"]
    assert defaults == {
        "time_cost": RFC_9106_LOW_MEMORY.time_cost,
        "memory_cost": RFC_9106_LOW_MEMORY.memory_cost,
        "parallelism": RFC_9106_LOW_MEMORY.parallelism,
    }


def test_a_hash_with_the_real_parameters_verifies_and_takes_real_work(settings: object) -> None:
    settings.ACCESS_TOKENS = {}  # type: ignore[attr-defined]
    started = time.perf_counter()
    stored = hashing.hash_secret("s3cret")
    assert "m=65536,t=3,p=4" in stored
    assert hashing.verify_secret(stored, "s3cret")
    assert not hashing.verify_secret(stored, "s3cret!")
    # Not a speed test: only proof that the strong parameters are really in use.
    assert time.perf_counter() - started > 0.01


def test_verify_refuses_garbage_hashes_without_raising() -> None:
    assert not hashing.verify_secret("not-a-hash", "x")
    assert hashing.needs_rehash("not-a-hash")


def test_changing_the_parameters_rehashes_a_token_on_its_next_successful_use(
    make_token: object, settings: object, client: object
) -> None:
    token, plaintext = make_token()  # type: ignore[operator]
    old_hash = token.secret_hash
    settings.ACCESS_TOKENS = {"ARGON2": {"time_cost": 2, "memory_cost": 16, "parallelism": 1}}  # type: ignore[attr-defined]
    response = client.get("/api/v1/user", HTTP_AUTHORIZATION=f"Bearer {plaintext}")  # type: ignore[attr-defined]
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.secret_hash != old_hash
    assert "m=16,t=2,p=1" in token.secret_hash
    assert PasswordHasher().verify(token.secret_hash, plaintext.rsplit("_", 1)[1][:30])


def test_the_verified_memory_is_keyed_by_hmac_not_by_the_token() -> None:
    digest = hashing.keyed_digest("djpat_x")
    assert isinstance(digest, bytes) and len(digest) == 32
    assert b"djpat_x" not in digest
    memory = hashing.VerifiedSecrets()
    memory.remember(digest, "$argon2id$a")
    assert memory.matches(digest, "$argon2id$a")
    assert not memory.matches(digest, "$argon2id$b")


def test_the_verified_memory_is_bounded(settings: object) -> None:
    settings.ACCESS_TOKENS = {"VERIFIED_CACHE_SIZE": 3}  # type: ignore[attr-defined]
    memory = hashing.VerifiedSecrets()
    for n in range(5):
        memory.remember(bytes([n]) * 32, "h")
    assert not memory.matches(bytes([0]) * 32, "h")
    assert memory.matches(bytes([4]) * 32, "h")
