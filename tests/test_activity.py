"""The activity log: what is recorded, by whom, and what it costs the hot path."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import MakeToken, bearer, create_form_data
from tokens_app import activity, format
from tokens_app.models import AccessToken, TokenEvent

pytestmark = pytest.mark.django_db

API = "/api/v1/user"
Kind = TokenEvent.Kind


def kinds(token: AccessToken) -> list[str]:
    return list(
        TokenEvent.objects.filter(token=token)
        .order_by("created_at", "id")
        .values_list("kind", flat=True)
    )


def writes(queries: CaptureQueriesContext) -> list[str]:
    verbs = ("INSERT", "UPDATE", "DELETE")
    return [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith(verbs)]


# -- changes -------------------------------------------------------------------------------


def test_creating_through_the_page_logs_the_owner_with_address_and_agent(
    owner_client: Client, owner: Any
) -> None:
    data = create_form_data(owner_client, name="laptop")
    owner_client.post("/tokens/new/", data, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="10.0.0.5")
    event = TokenEvent.objects.get(kind=Kind.CREATED)
    token = AccessToken.objects.get(name="laptop")
    assert event.token == token
    assert event.owner == owner
    assert event.actor == TokenEvent.Actor.OWNER
    assert event.actor_user == owner
    assert (event.ip, event.user_agent) == ("10.0.0.5", "Firefox/140")
    assert event.token_identifier == token.identifier
    assert event.changes["permissions"] == ["*"]


def test_renaming_and_rescoping_log_what_changed(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(name="before")
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "after", "permissions": "none"}
    )
    assert response.status_code == 302
    renamed = TokenEvent.objects.get(token=token, kind=Kind.RENAMED)
    assert renamed.changes == {"name": ["before", "after"]}
    assert renamed.description == "Renamed from “before” to “after”."
    rescoped = TokenEvent.objects.get(token=token, kind=Kind.PERMISSIONS_CHANGED)
    assert rescoped.changes == {"permissions": [["*"], []]}
    assert rescoped.description == "Permissions changed from Full Access to No Access."


def test_saving_without_a_change_logs_nothing(make_token: MakeToken) -> None:
    token, _ = make_token(name="same")
    token.update_details(name="same", permissions=list(token.permissions))
    assert kinds(token) == [Kind.CREATED]


def test_regenerating_logs_the_new_expiry_and_never_the_secret(make_token: MakeToken) -> None:
    token, old_secret = make_token()
    old_expiry = token.expires_at
    new_secret = token.regenerate(expires_at=timezone.now() + datetime.timedelta(days=60))
    event = TokenEvent.objects.get(token=token, kind=Kind.REGENERATED)
    assert event.changes == {"expires_at": [old_expiry.isoformat(), token.expires_at.isoformat()]}
    stored = str(TokenEvent.objects.filter(token=token).values())
    for secret in (old_secret, new_secret):
        assert secret.rsplit("_", 1)[1][:30] not in stored
    assert token.secret_hash not in stored


def test_a_deleted_token_keeps_its_log_with_a_snapshot(
    owner_client: Client, make_token: MakeToken, owner: Any
) -> None:
    token, _ = make_token(name="old-ci")
    identifier, pk = token.identifier, token.pk
    response = owner_client.post(f"/tokens/{pk}/delete/")
    assert response.status_code == 302
    assert not AccessToken.objects.filter(pk=pk).exists()
    deleted = TokenEvent.objects.get(kind=Kind.DELETED)
    assert (deleted.token, deleted.owner) == (None, owner)
    assert (deleted.token_name, deleted.token_identifier) == ("old-ci", identifier)
    assert deleted.actor == TokenEvent.Actor.OWNER
    assert TokenEvent.objects.get(kind=Kind.CREATED).token is None


def test_deleting_the_owner_takes_their_log_with_them(make_token: MakeToken, owner: Any) -> None:
    make_token()
    owner.delete()
    assert not TokenEvent.objects.exists()


def test_an_admin_acting_in_the_admin_is_logged_as_admin(make_token: MakeToken, owner: Any) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    token, _ = make_token()
    client = Client()
    client.force_login(admin)
    response = client.post(
        f"/admin/tokens_app/accesstoken/{token.pk}/delete/", {"post": "yes"}, REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code == 302
    deleted = TokenEvent.objects.get(kind=Kind.DELETED)
    assert (deleted.actor, deleted.actor_user, deleted.ip) == (
        TokenEvent.Actor.ADMIN,
        admin,
        "10.9.9.9",
    )


def test_changes_from_the_shell_are_logged_as_system(make_token: MakeToken) -> None:
    token, _ = make_token()
    assert TokenEvent.objects.get(token=token, kind=Kind.CREATED).actor == TokenEvent.Actor.SYSTEM


# -- use --------------------------------------------------------------------------------


def test_first_use_from_each_address_is_logged_once(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.1"):
        response = client.get(API, REMOTE_ADDR=address, HTTP_USER_AGENT="curl/8", **bearer(secret))
        assert response.status_code == 200
    events = TokenEvent.objects.filter(token=token, kind=Kind.NEW_ADDRESS).order_by("id")
    assert [(e.ip, e.actor, e.user_agent) for e in events] == [
        ("10.0.0.1", TokenEvent.Actor.TOKEN, "curl/8"),
        ("10.0.0.2", TokenEvent.Actor.TOKEN, "curl/8"),
    ]


def test_a_known_address_is_not_logged_again_by_a_fresh_process(
    client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    client.get(API, REMOTE_ADDR="10.0.0.1", **bearer(secret))
    activity.forget_seen()
    client.get(API, REMOTE_ADDR="10.0.0.1", **bearer(secret))
    assert TokenEvent.objects.filter(token=token, kind=Kind.NEW_ADDRESS).count() == 1


def test_an_ordinary_request_from_a_known_address_writes_nothing(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token()
    assert client.get(API, REMOTE_ADDR="10.0.0.1", **bearer(secret)).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(API, REMOTE_ADDR="10.0.0.1", **bearer(secret)).status_code == 200
    assert writes(queries) == []
    assert not any("tokens_app_tokenevent" in q["sql"] for q in queries.captured_queries)


def test_wrong_secrets_against_a_token_id_roll_up_into_one_counted_line(
    client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    wrong = format.build(token.prefix, token.public_id, "x" * format.SECRET_LENGTH)
    for _ in range(3):
        response = client.get(API, REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="evil", **bearer(wrong))
        assert response.status_code == 401
    line = TokenEvent.objects.get(token=token, kind=Kind.FAILED_ATTEMPTS)
    assert (line.count, line.ip, line.actor) == (3, "192.0.2.7", TokenEvent.Actor.CLIENT)
    assert line.description == "3 failed attempts with this token's identifier and a wrong secret."


def test_failed_attempts_start_a_new_line_after_an_hour(make_token: MakeToken) -> None:
    token, _ = make_token()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        activity.note_failed_attempt(token, None)
        clock.shift(datetime.timedelta(minutes=59))
        activity.note_failed_attempt(token, None)
        clock.shift(datetime.timedelta(minutes=2))
        activity.note_failed_attempt(token, None)
    counts = list(
        TokenEvent.objects.filter(kind=Kind.FAILED_ATTEMPTS)
        .order_by("id")
        .values_list("count", flat=True)
    )
    assert counts == [2, 1]


def test_an_expired_token_is_logged_once_when_first_noticed(
    client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token(state="expired")
    for _ in range(2):
        assert client.get(API, **bearer(secret)).status_code == 401
    activity.forget_seen()
    assert client.get(API, **bearer(secret)).status_code == 401
    assert kinds(token) == [Kind.CREATED, Kind.EXPIRED]
    assert not TokenEvent.objects.filter(kind=Kind.FAILED_ATTEMPTS).exists()


def test_an_unknown_token_id_logs_nothing(client: Client, make_token: MakeToken) -> None:
    make_token()
    unknown = format.build("djpat", "A" * format.PUBLIC_ID_LENGTH, "b" * format.SECRET_LENGTH)
    assert client.get(API, **bearer(unknown)).status_code == 401
    assert list(TokenEvent.objects.values_list("kind", flat=True)) == [Kind.CREATED]


# -- retention ------------------------------------------------------------------------------


def test_the_purge_removes_only_events_past_the_retention_in_batches(
    make_token: MakeToken, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "ACTIVITY_RETENTION_DAYS": 30}
    token, _ = make_token()
    old = timezone.now() - datetime.timedelta(days=31)
    for _ in range(5):
        activity.record(token, Kind.FAILED_ATTEMPTS)
    TokenEvent.objects.filter(kind=Kind.FAILED_ATTEMPTS).update(created_at=old)
    assert activity.purge(batch_size=2) == (5, 0)
    assert kinds(token) == [Kind.CREATED]


def test_the_purge_command_reports_what_it_removed(make_token: MakeToken, capsys: Any) -> None:
    make_token()
    TokenEvent.objects.update(created_at=timezone.now() - datetime.timedelta(days=181))
    call_command("purge_token_activity")
    assert "Removed 1 activity events" in capsys.readouterr().out
    assert not TokenEvent.objects.exists()


def test_the_purge_command_refuses_a_nonsense_period(db: None) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("purge_token_activity", "--days", "0")
