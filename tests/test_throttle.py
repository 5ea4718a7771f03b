"""Wrong secrets against a real token id are throttled per token id and per client address.

Every test runs twice: on the local-memory cache, and on Redis when REDIS_URL is set
(as in CI's PostgreSQL pass), so the counters are proven on a cache shared by processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client

from tests.conftest import MakeToken, bearer
from tokens_app import format, throttle
from tokens_app.hashing import verified_secrets
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db
URL = "/api/v1/user"
REDIS_URL = os.environ.get("REDIS_URL", "")
LIMITS = {"FAILURES_PER_TOKEN": 3, "FAILURES_PER_ADDRESS": 5, "WINDOW": 300, "CACHE": "throttle"}


@pytest.fixture(
    params=[
        "locmem",
        pytest.param(
            "redis", marks=pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
        ),
    ]
)
def backend(request: Any, settings: Any) -> Iterator[str]:
    location = {
        "locmem": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    }[request.param]
    settings.CACHES = {**settings.CACHES, "throttle": {**location, "KEY_PREFIX": "test-throttle"}}
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "THROTTLE": LIMITS}
    caches["throttle"].clear()
    yield request.param
    caches["throttle"].clear()


def wrong_secret_for(token: AccessToken) -> str:
    return format.build(token.prefix, token.public_id, format.new_secret())


def count_argon2(monkeypatch: Any) -> list[int]:
    """Count argon2 verifies while letting them run."""
    from tokens_app import models

    calls: list[int] = []
    real = models.verify_secret

    def counting(stored: str, secret: str) -> bool:
        calls.append(1)
        return real(stored, secret)

    monkeypatch.setattr(models, "verify_secret", counting)
    return calls


def test_wrong_secrets_get_401_until_the_limit_then_429_with_retry_after(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    token, _ = make_token()
    statuses = [client.get(URL, **bearer(wrong_secret_for(token))).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    response = client.get(URL, **bearer(wrong_secret_for(token)))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 300
    assert response.json()["error"] == "too_many_attempts"
    assert "Try again in" in response.json()["error_description"]


def test_over_the_limit_no_argon2_runs(
    client: Client, make_token: MakeToken, backend: str, monkeypatch: Any
) -> None:
    token, _ = make_token()
    calls = count_argon2(monkeypatch)
    for _ in range(10):
        client.get(URL, **bearer(wrong_secret_for(token)))
    assert len(calls) == 3


def test_the_valid_token_keeps_working_while_its_id_is_throttled(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    token, secret = make_token()
    assert client.get(URL, **bearer(secret)).status_code == 200
    for _ in range(5):
        client.get(URL, **bearer(wrong_secret_for(token)), REMOTE_ADDR="203.0.113.9")
    assert client.get(URL, **bearer(wrong_secret_for(token))).status_code == 429
    assert client.get(URL, **bearer(secret)).status_code == 200


def test_another_process_accepts_the_valid_token_while_its_id_is_throttled(
    client: Client, make_token: MakeToken, backend: str, monkeypatch: Any
) -> None:
    token, secret = make_token()
    assert client.get(URL, **bearer(secret)).status_code == 200
    for _ in range(3):
        client.get(URL, **bearer(wrong_secret_for(token)), REMOTE_ADDR="203.0.113.9")
    verified_secrets.clear()  # as if a fresh worker process took the next request
    calls = count_argon2(monkeypatch)
    response = client.get(URL, **bearer(secret))
    assert response.status_code == 200
    assert calls == []


def test_a_regenerated_secret_is_not_vouched_for_by_the_old_one(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    token, old = make_token()
    assert client.get(URL, **bearer(old)).status_code == 200
    token.regenerate(expires_at=token.expires_at)
    verified_secrets.clear()
    for _ in range(3):
        client.get(URL, **bearer(wrong_secret_for(token)))
    assert client.get(URL, **bearer(old)).status_code == 429


def test_the_address_limit_spans_token_ids(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    tokens = [make_token(name=f"t{n}")[0] for n in range(3)]
    statuses = [
        client.get(URL, **bearer(wrong_secret_for(tokens[n % 3]))).status_code for n in range(6)
    ]
    assert statuses == [401, 401, 401, 401, 401, 429]
    other_address = client.get(URL, **bearer(wrong_secret_for(tokens[0])), REMOTE_ADDR="10.9.9.9")
    assert other_address.status_code == 401


def test_the_token_limit_spans_addresses(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    token, _ = make_token()
    for n in range(3):
        client.get(URL, **bearer(wrong_secret_for(token)), REMOTE_ADDR=f"10.0.0.{n}")
    response = client.get(URL, **bearer(wrong_secret_for(token)), REMOTE_ADDR="10.0.0.99")
    assert response.status_code == 429


def test_first_uses_of_valid_tokens_do_not_use_up_the_budget(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    for n in range(8):
        _, secret = make_token(name=f"fresh{n}")
        assert client.get(URL, **bearer(secret)).status_code == 200
    token, _ = make_token(name="target")
    assert client.get(URL, **bearer(wrong_secret_for(token))).status_code == 401


def test_unknown_ids_and_checksum_failures_cost_no_argon2_and_no_budget(
    client: Client, make_token: MakeToken, backend: str, monkeypatch: Any
) -> None:
    token, secret = make_token()
    calls = count_argon2(monkeypatch)
    unknown = format.build(token.prefix, format.new_public_id(), format.new_secret())
    broken = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    for _ in range(10):
        assert client.get(URL, **bearer(unknown)).status_code == 401
        assert client.get(URL, **bearer(broken)).status_code == 401
    assert calls == []
    assert client.get(URL, **bearer(secret)).status_code == 200


def test_an_expired_token_is_refused_before_argon2(
    client: Client, make_token: MakeToken, backend: str, monkeypatch: Any
) -> None:
    _, secret = make_token(state="expired")
    calls = count_argon2(monkeypatch)
    for _ in range(5):
        assert client.get(URL, **bearer(secret)).status_code == 401
    assert calls == []


def test_the_counters_live_in_the_configured_cache(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    token, _ = make_token()
    client.get(URL, **bearer(wrong_secret_for(token)))
    assert throttle.reserve(token.public_id, "127.0.0.1") is None  # the 2nd of 3
    assert throttle.reserve(token.public_id, "127.0.0.1") is None  # the 3rd
    assert throttle.reserve(token.public_id, "127.0.0.1") is not None
    caches["throttle"].clear()
    assert throttle.reserve(token.public_id, "127.0.0.1") is None


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_with_redis_url_set_the_default_cache_is_redis() -> None:
    """CI's PostgreSQL pass sets REDIS_URL: the throttle's default cache must be Redis there."""
    from django.core.cache.backends.redis import RedisCache

    assert isinstance(caches["default"], RedisCache)


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
@pytest.mark.parametrize("backend", ["redis"], indirect=True)
def test_on_redis_the_counter_is_visible_to_a_separate_connection(
    client: Client, make_token: MakeToken, backend: str
) -> None:
    import redis

    token, _ = make_token()
    client.get(URL, **bearer(wrong_secret_for(token)))
    keys = redis.Redis.from_url(REDIS_URL).keys(f"test-throttle:*token:{token.public_id}")
    assert len(keys) == 1
