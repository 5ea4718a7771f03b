"""The site-wide token policy: lifetime, the per-user limit, "no expiration", argon2 cost."""

from __future__ import annotations

import datetime
import re
import threading
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from tests.conftest import FAST_ARGON2, MakeToken, bearer, create_form_data, shown_secret
from tokens_app.conf import DEFAULTS, policy
from tokens_app.forms import TokenCreateForm
from tokens_app.models import NO_EXPIRATION, AccessToken, TokenLimitReached, validate_expiry

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy_of(settings: Any) -> Any:
    def set_policy(**values: Any) -> None:
        settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, **values}

    return set_policy


def test_the_defaults_are_the_documented_ones() -> None:
    assert DEFAULTS["MAX_TOKENS_PER_USER"] == 50
    assert DEFAULTS["ALLOW_NO_EXPIRATION"] is False
    assert DEFAULTS["MAX_LIFETIME_DAYS"] == 366


def test_a_changed_setting_takes_effect_at_once(policy_of: Any) -> None:
    policy_of(MAX_TOKENS_PER_USER=3)
    assert policy().max_tokens_per_user == 3


# -- maximum lifetime ----------------------------------------------------------------


def test_the_settings_page_refuses_a_custom_date_beyond_the_maximum(
    owner_client: Client, policy_of: Any
) -> None:
    policy_of(MAX_LIFETIME_DAYS=90)
    too_far = (timezone.localdate() + datetime.timedelta(days=100)).isoformat()
    data = create_form_data(owner_client, expiration="custom", expires_on=too_far)
    response = owner_client.post("/tokens/new/", data)
    assert response.status_code == 200
    assert "Tokens can live at most 90 days" in response.content.decode()
    assert not AccessToken.objects.exists()


def test_regenerate_on_the_settings_page_refuses_a_date_beyond_the_maximum(
    owner_client: Client, make_token: MakeToken, policy_of: Any
) -> None:
    token, _ = make_token()
    policy_of(MAX_LIFETIME_DAYS=60)
    too_far = (timezone.localdate() + datetime.timedelta(days=61)).isoformat()
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/",
        {"expiration": "custom", "expires_on": too_far, "generation": token.generation},
    )
    assert response.status_code == 200
    assert "Tokens can live at most 60 days" in response.content.decode()
    fresh = AccessToken.objects.get(pk=token.pk)
    assert (fresh.secret_hash, fresh.expires_at) == (token.secret_hash, token.expires_at)


def test_the_model_refuses_a_lifetime_beyond_the_maximum_on_create_and_regenerate(
    owner: Any, make_token: MakeToken, policy_of: Any
) -> None:
    token, _ = make_token()
    policy_of(MAX_LIFETIME_DAYS=10)
    eleven_days = timezone.now() + datetime.timedelta(days=11)
    with pytest.raises(ValidationError, match="at most 10 days"):
        AccessToken.objects.issue(owner=owner, name="x", permissions=[], expires_at=eleven_days)
    with pytest.raises(ValidationError, match="at most 10 days"):
        token.regenerate(expires_at=eleven_days)
    assert AccessToken.objects.count() == 1
    assert AccessToken.objects.get().secret_hash == token.secret_hash


def test_presets_beyond_a_lowered_maximum_are_refused_by_the_form(policy_of: Any) -> None:
    policy_of(MAX_LIFETIME_DAYS=20, EXPIRATION_PRESETS=[7, 30], DEFAULT_EXPIRATION=7)
    form = TokenCreateForm(
        {"name": "x", "expiration": "30", "permissions": "none", "nonce": str(uuid.uuid4())}
    )
    assert not form.is_valid()
    assert "at most 20 days" in str(form.errors["expiration"])


# -- no expiration -------------------------------------------------------------


def test_no_expiration_is_refused_by_default(owner: Any) -> None:
    with pytest.raises(ValidationError, match="must have an expiration date"):
        validate_expiry(NO_EXPIRATION)
    with pytest.raises(ValidationError):
        AccessToken.objects.issue(owner=owner, name="x", permissions=[], expires_at=NO_EXPIRATION)
    assert not AccessToken.objects.exists()


def test_the_form_does_not_offer_no_expiration_by_default(owner_client: Client) -> None:
    page = owner_client.get("/tokens/new/").content.decode()
    assert 'value="never"' not in page
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, expiration="never"))
    assert response.status_code == 200
    assert not AccessToken.objects.exists()


def test_when_allowed_no_expiration_stores_a_far_future_date(
    owner_client: Client, owner: Any, policy_of: Any, client: Client
) -> None:
    policy_of(ALLOW_NO_EXPIRATION=True)
    page = owner_client.get("/tokens/new/").content.decode()
    assert re.search(r'value="never"', page)
    assert "No expiration" in page

    response = owner_client.post("/tokens/new/", create_form_data(owner_client, expiration="never"))

    assert response.status_code == 200
    token = AccessToken.objects.get()
    assert token.expires_at == NO_EXPIRATION
    assert token.never_expires
    assert token.status == "active"
    assert AccessToken.objects.active().filter(pk=token.pk).exists()
    secret = shown_secret(response.content)
    assert secret
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 200


def test_a_token_without_expiry_can_still_be_expired_now(
    owner: Any, policy_of: Any, admin_client: Client
) -> None:
    policy_of(ALLOW_NO_EXPIRATION=True)
    token, _ = AccessToken.objects.issue(
        owner=owner, name="forever", permissions=[], expires_at=NO_EXPIRATION
    )
    listing = admin_client.get("/admin/tokens_app/accesstoken/").content.decode()
    assert '<td class="field-expires">Never</td>' in listing
    token.expire_now()
    assert token.is_expired()
    assert not token.never_expires


# -- the per-user maximum ------------------------------------------------------------


def test_the_settings_page_says_clearly_when_the_limit_is_reached(
    owner_client: Client, make_token: MakeToken, policy_of: Any
) -> None:
    policy_of(MAX_TOKENS_PER_USER=2)
    make_token(name="one")
    make_token(name="two")
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, name="three"))
    assert response.status_code == 200
    assert "You have reached the limit of active tokens" in response.content.decode()
    assert AccessToken.objects.count() == 2


def test_expired_tokens_do_not_count_toward_the_limit(
    owner: Any, make_token: MakeToken, policy_of: Any
) -> None:
    policy_of(MAX_TOKENS_PER_USER=1)
    make_token(name="old", state="expired")
    make_token(name="current")
    with pytest.raises(TokenLimitReached):
        make_token(name="one too many")
    assert AccessToken.objects.active().count() == 1


def test_the_limit_is_per_user(make_token: MakeToken, other_user: Any, policy_of: Any) -> None:
    policy_of(MAX_TOKENS_PER_USER=1)
    make_token(name="mine")
    make_token(name="theirs", user=other_user)
    assert AccessToken.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_never_exceed_the_limit(settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs row locks (SELECT ... FOR UPDATE) and real concurrent connections; "
            "SQLite serialises writers and ignores FOR UPDATE. Run with DATABASE_URL=postgres://…"
        )
    limit, attempts = 3, 8
    settings.ACCESS_TOKENS = {"ARGON2": FAST_ARGON2, "MAX_TOKENS_PER_USER": limit}
    owner = get_user_model().objects.create_user("racer", "racer@example.com", "pw")
    start = threading.Barrier(attempts)
    outcomes: list[str] = []
    lock = threading.Lock()

    def create(n: int) -> None:
        outcome = "created"
        try:
            start.wait()
            AccessToken.objects.issue(
                owner=owner,
                name=f"racer {n}",
                permissions=[],
                expires_at=timezone.now() + datetime.timedelta(days=7),
            )
        except TokenLimitReached:
            outcome = "refused"
        except Exception as error:  # reported by the assertion below
            outcome = f"failed: {error!r}"
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["created"] * limit + ["refused"] * (attempts - limit)
    assert AccessToken.objects.filter(owner=owner).count() == limit


# -- argon2 parameters ---------------------------------------------------------------


def test_changing_argon2_parameters_keeps_tokens_working_and_rehashes_them(
    make_token: MakeToken, policy_of: Any, client: Client
) -> None:
    token, secret = make_token()
    assert "m=8,t=1,p=1" in token.secret_hash
    policy_of(ARGON2={"time_cost": 2, "memory_cost": 16, "parallelism": 1})

    response = client.get("/api/v1/user", **bearer(secret))

    assert response.status_code == 200
    stored = AccessToken.objects.get(pk=token.pk).secret_hash
    assert "m=16,t=2,p=1" in stored
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 200
