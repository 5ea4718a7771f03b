from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.conftest import MakeToken
from tokens_app.models import (
    FULL_ACCESS,
    AccessToken,
    DuplicateSubmission,
    StaleToken,
    TokenLimitReached,
)

pytestmark = pytest.mark.django_db


def test_a_token_is_expired_at_exactly_its_expiry(make_token: MakeToken) -> None:
    token, _ = make_token()
    assert not token.is_expired(token.expires_at - datetime.timedelta(microseconds=1))
    assert token.is_expired(token.expires_at)
    assert token.is_expired(token.expires_at + datetime.timedelta(microseconds=1))


def test_the_queryset_agrees_with_the_boundary(make_token: MakeToken) -> None:
    live, _ = make_token(name="live")
    dead, _ = make_token(name="dead", state="expired")
    soon, _ = make_token(name="soon", state="expiring")
    assert set(AccessToken.objects.active()) == {live, soon}
    assert list(AccessToken.objects.expired()) == [dead]
    assert list(AccessToken.objects.expiring_within(days=7)) == [soon]


def test_status_names_the_three_states(make_token: MakeToken) -> None:
    assert make_token()[0].status == "active"
    assert make_token(state="expiring")[0].status == "expiring"
    assert make_token(state="expired")[0].status == "expired"


def test_no_access_is_the_empty_permission_list(make_token: MakeToken) -> None:
    token, _ = make_token(full_access=False)
    assert token.permissions == []
    assert token.has_no_access and not token.has_full_access
    assert token.permissions_label == "No Access"
    assert not token.has_permission("profile:read")


def test_full_access_grants_every_permission_even_undeclared_ones(make_token: MakeToken) -> None:
    token, _ = make_token()
    assert token.permissions == [FULL_ACCESS]
    assert token.has_permission("anything:later")
    assert token.permissions_label == "Full Access"


@pytest.mark.parametrize("days", [0, -1, 367])
def test_issue_refuses_an_expiry_in_the_past_or_beyond_the_maximum(owner: Any, days: int) -> None:
    with pytest.raises(ValidationError):
        AccessToken.objects.issue(
            owner=owner,
            name="x",
            permissions=[],
            expires_at=timezone.now() + datetime.timedelta(days=days),
        )
    assert not AccessToken.objects.exists()


def test_issue_with_the_same_nonce_twice_makes_one_token(owner: Any) -> None:
    import uuid

    nonce = uuid.uuid4()
    expires = timezone.now() + datetime.timedelta(days=7)
    AccessToken.objects.issue(
        owner=owner, name="a", permissions=[], expires_at=expires, creation_nonce=nonce
    )
    with pytest.raises(DuplicateSubmission):
        AccessToken.objects.issue(
            owner=owner, name="a", permissions=[], expires_at=expires, creation_nonce=nonce
        )
    assert AccessToken.objects.count() == 1


def test_issue_stops_at_the_per_user_limit(
    owner: Any, settings: Any, make_token: MakeToken
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_TOKENS_PER_USER": 2}
    make_token(name="old", state="expired")  # expired tokens do not count
    make_token(name="one")
    make_token(name="two")
    with pytest.raises(TokenLimitReached):
        make_token(name="three")
    assert AccessToken.objects.active().count() == 2


def test_regenerate_keeps_identity_and_changes_secret_and_expiry(make_token: MakeToken) -> None:
    token, old = make_token(name="keep-me")
    before = AccessToken.objects.values().get(pk=token.pk)
    new_expiry = timezone.now() + datetime.timedelta(days=60)
    new = token.regenerate(expires_at=new_expiry)
    after = AccessToken.objects.values().get(pk=token.pk)
    assert new != old
    assert new.startswith(token.identifier + "_")
    for field in ("public_id", "name", "permissions", "created_at", "owner_id", "prefix"):
        assert after[field] == before[field]
    assert after["secret_hash"] != before["secret_hash"]
    assert after["expires_at"] == new_expiry
    assert after["generation"] == before["generation"] + 1


def test_regenerate_from_a_stale_view_is_refused(make_token: MakeToken) -> None:
    token, _ = make_token()
    later = timezone.now() + datetime.timedelta(days=30)
    token.regenerate(expires_at=later, generation=1)
    with pytest.raises(StaleToken):
        token.regenerate(expires_at=later, generation=1)
    assert AccessToken.objects.get(pk=token.pk).generation == 2


def test_an_expired_token_can_be_regenerated_back_to_life(make_token: MakeToken) -> None:
    token, _ = make_token(state="expired")
    token.regenerate(expires_at=timezone.now() + datetime.timedelta(days=7))
    assert AccessToken.objects.active().filter(pk=token.pk).exists()


def test_update_details_leaves_the_secret_and_expiry_alone(make_token: MakeToken) -> None:
    token, _ = make_token()
    before = AccessToken.objects.values().get(pk=token.pk)
    token.update_details(name="renamed", permissions=[])
    after = AccessToken.objects.values().get(pk=token.pk)
    assert (after["name"], after["permissions"]) == ("renamed", [])
    assert after["secret_hash"] == before["secret_hash"]
    assert after["expires_at"] == before["expires_at"]


def test_record_use_writes_at_most_once_per_interval(
    make_token: MakeToken, django_assert_num_queries: Any
) -> None:
    token, _ = make_token()
    now = timezone.now()
    with django_assert_num_queries(1):
        token.record_use(ip="127.0.0.1", now=now)
    with django_assert_num_queries(0):
        token.record_use(ip="127.0.0.1", now=now + datetime.timedelta(seconds=59))
    with django_assert_num_queries(1):
        token.record_use(ip="10.0.0.9", now=now + datetime.timedelta(seconds=61))
    token.refresh_from_db()
    assert token.last_used_ip == "10.0.0.9"


def test_regenerating_an_expired_token_counts_against_the_limit(
    settings: Any, make_token: MakeToken
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_TOKENS_PER_USER": 1}
    old, _ = make_token(name="old", state="expired")
    make_token(name="live")
    with pytest.raises(TokenLimitReached):
        old.regenerate(expires_at=timezone.now() + datetime.timedelta(days=7))
    old.refresh_from_db()
    assert old.is_expired() and old.generation == 1


def test_regenerating_an_active_token_at_the_limit_is_fine(
    settings: Any, make_token: MakeToken
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_TOKENS_PER_USER": 1}
    token, _ = make_token()
    token.regenerate(expires_at=timezone.now() + datetime.timedelta(days=7))
    assert AccessToken.objects.get(pk=token.pk).generation == 2
