"""The operations commands: purge expired tokens, list and revoke a user's tokens."""

from __future__ import annotations

import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import MakeToken
from tokens_app import format
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db


def run(*args: Any, **options: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def expired_days_ago(token: AccessToken, days: float) -> None:
    AccessToken.objects.filter(pk=token.pk).update(
        expires_at=timezone.now() - datetime.timedelta(days=days)
    )


# -- purge_expired_tokens --------------------------------------------------------


def test_purge_removes_only_tokens_expired_longer_than_the_grace_period(
    make_token: MakeToken,
) -> None:
    make_token(name="live")
    recent, _ = make_token(name="recent")
    old, _ = make_token(name="old")
    expired_days_ago(recent, 29)
    expired_days_ago(old, 31)

    output = run("purge_expired_tokens")

    assert "Removed 1 token that expired before" in output
    assert set(AccessToken.objects.values_list("name", flat=True)) == {"live", "recent"}


def test_purge_takes_the_grace_period_in_days(make_token: MakeToken) -> None:
    token, _ = make_token()
    expired_days_ago(token, 3)
    assert "Removed 0 tokens" in run("purge_expired_tokens", "--days", "5")
    assert AccessToken.objects.exists()
    assert "Removed 1 token " in run("purge_expired_tokens", "--days", "2")
    assert not AccessToken.objects.exists()


def test_purge_works_in_batches_and_reports_each(owner: Any) -> None:
    long_ago = timezone.now() - datetime.timedelta(days=90)
    AccessToken.objects.bulk_create(
        AccessToken(
            owner=owner,
            name=f"old {n}",
            prefix="djpat",
            public_id=format.new_public_id(),
            secret_hash="x",
            expires_at=long_ago,
        )
        for n in range(25)
    )

    output = run("purge_expired_tokens", "--batch-size", "10", verbosity=2)

    assert "batch 1: removed 10 (10 so far)" in output
    assert "batch 2: removed 10 (20 so far)" in output
    assert "batch 3: removed 5 (25 so far)" in output
    assert "batch 4" not in output
    assert "Removed 25 tokens" in output
    assert not AccessToken.objects.exists()


def test_each_batch_loads_only_a_batch_of_ids(owner: Any) -> None:
    long_ago = timezone.now() - datetime.timedelta(days=90)
    AccessToken.objects.bulk_create(
        AccessToken(
            owner=owner,
            name=f"old {n}",
            prefix="djpat",
            public_id=format.new_public_id(),
            secret_hash="x",
            expires_at=long_ago,
        )
        for n in range(30)
    )
    batches = AccessToken.objects.purge_expired(before=timezone.now(), batch_size=10)
    with CaptureQueriesContext(connection) as queries:
        assert next(batches) == 10
    pick = queries.captured_queries[0]["sql"]
    assert pick.startswith('SELECT "tokens_app_accesstoken"."id"')
    assert "LIMIT 10" in pick
    assert 'id" > 0' in pick
    assert AccessToken.objects.count() == 20
    assert list(batches) == [10, 10]


def test_purge_dry_run_counts_and_deletes_nothing(make_token: MakeToken) -> None:
    token, _ = make_token()
    expired_days_ago(token, 100)
    assert "Would remove 1 token that expired before" in run("purge_expired_tokens", "--dry-run")
    assert AccessToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--days", "-1"], "--days must be 0 or more"), (["--batch-size", "0"], "at least 1")],
)
def test_purge_refuses_nonsense_options(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("purge_expired_tokens", *args)


# -- list_tokens -----------------------------------------------------------------


def test_list_shows_a_users_tokens_and_never_a_secret(
    make_token: MakeToken, other_user: Any
) -> None:
    laptop, secret = make_token(name="laptop")
    make_token(name="old one", state="expired", full_access=False)
    make_token(name="not mine", user=other_user)

    output = run("list_tokens", "owner")

    lines = output.splitlines()
    assert lines[0].split() == [
        "IDENTIFIER",
        "NAME",
        "PERMISSIONS",
        "CREATED",
        "EXPIRES",
        "LAST",
        "USED",
        "STATUS",
    ]
    assert laptop.identifier in output
    assert "laptop" in output and "Full Access" in output and "active" in output
    assert "old one" in output and "No Access" in output and "expired" in output
    assert "not mine" not in output
    assert secret not in output
    assert laptop.secret_hash not in output
    assert lines[-1] == "2 tokens."


def test_list_says_when_a_user_has_none(owner: Any) -> None:
    assert run("list_tokens", "owner") == "owner has no access tokens.\n"


def test_list_names_a_missing_user() -> None:
    with pytest.raises(CommandError, match="There is no user called 'ghost'"):
        run("list_tokens", "ghost")


# -- revoke_tokens ---------------------------------------------------------------


def test_revoke_one_token_by_identifier(make_token: MakeToken, client: Any) -> None:
    from tests.conftest import bearer

    target, secret = make_token(name="leaked")
    keep, _ = make_token(name="keep")

    output = run("revoke_tokens", "owner", target.identifier)

    assert f"Revoked leaked ({target.identifier})." in output
    assert "Revoked 1 token of owner." in output
    assert list(AccessToken.objects.all()) == [keep]
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 401


def test_revoke_accepts_the_bare_public_id(make_token: MakeToken) -> None:
    target, _ = make_token()
    run("revoke_tokens", "owner", target.public_id)
    assert not AccessToken.objects.exists()


def test_revoke_all_of_a_users_tokens(make_token: MakeToken, other_user: Any) -> None:
    make_token(name="one")
    make_token(name="two", state="expired")
    theirs, _ = make_token(name="theirs", user=other_user)

    output = run("revoke_tokens", "owner", "--all")

    assert "Revoked 2 tokens of owner." in output
    assert list(AccessToken.objects.all()) == [theirs]


def test_revoke_refuses_another_users_token(make_token: MakeToken, other_user: Any) -> None:
    theirs, _ = make_token(user=other_user)
    with pytest.raises(CommandError, match=f"owner has no token '{theirs.identifier}'"):
        run("revoke_tokens", "owner", theirs.identifier)
    assert AccessToken.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("args", [["owner"], ["owner", "djpat_x", "--all"]])
def test_revoke_needs_exactly_one_of_identifier_or_all(owner: Any, args: list[str]) -> None:
    with pytest.raises(CommandError, match="either one token identifier or --all"):
        run("revoke_tokens", *args)
