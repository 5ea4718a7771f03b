"""The shared cast: an owner, another user, an admin, and tokens in any state."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from tokens_app import activity
from tokens_app.hashing import verified_secrets
from tokens_app.models import FULL_ACCESS, AccessToken

# Cheap argon2 for the suite; tests/test_hashing.py checks the real parameters once.
FAST_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings: Any) -> Iterator[None]:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "ARGON2": FAST_ARGON2}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SECURE_SSL_REDIRECT = False
    verified_secrets.clear()
    activity.forget_seen()
    cache.clear()
    yield
    verified_secrets.clear()


@pytest.fixture
def owner(db: None) -> Any:
    return get_user_model().objects.create_user("owner", "owner@example.com", "pw-owner")


@pytest.fixture
def other_user(db: None) -> Any:
    return get_user_model().objects.create_user("other", "other@example.com", "pw-other")


@pytest.fixture
def owner_client(owner: Any) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def csrf_client(owner: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


MakeToken = Callable[..., tuple[AccessToken, str]]


@pytest.fixture
def make_token(owner: Any) -> MakeToken:
    """Issue a token through the real model method, then move it into the state asked for."""

    def make(
        *,
        user: Any = None,
        name: str = "ci-deploy",
        full_access: bool = True,
        expires_in: datetime.timedelta = datetime.timedelta(days=30),
        state: str = "active",
    ) -> tuple[AccessToken, str]:
        token, secret = AccessToken.objects.issue(
            owner=user or owner,
            name=name,
            permissions=[FULL_ACCESS] if full_access else [],
            expires_at=timezone.now() + expires_in,
        )
        if state == "expired":
            AccessToken.objects.filter(pk=token.pk).update(
                expires_at=timezone.now() - datetime.timedelta(seconds=1)
            )
            token.refresh_from_db()
        elif state == "expiring":
            AccessToken.objects.filter(pk=token.pk).update(
                expires_at=timezone.now() + datetime.timedelta(days=2)
            )
            token.refresh_from_db()
        return token, secret

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


NEW_TOKEN = re.compile(r'id="new-token"[^>]*\bvalue="([^"]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def shown_secret(content: bytes) -> str | None:
    match = NEW_TOKEN.search(content.decode())
    return match.group(1) if match else None


def create_form_data(client: Client, **overrides: str) -> dict[str, str]:
    """Fields of the New Access Token form as a browser would send them, nonce included."""
    page = client.get("/tokens/new/")
    match = NONCE.search(page.content.decode())
    assert match, "the create form must carry a one-time nonce"
    data = {"name": "ci-deploy", "expiration": "30", "permissions": "full", "nonce": match.group(1)}
    data.update(overrides)
    return data
