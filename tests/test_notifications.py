"""The token emails: exactly once, afresh after a regenerate, opt-out, and safe names."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.conftest import MakeToken, bearer, create_form_data
from tokens_app import tasks
from tokens_app.models import AccessToken, ExpiryNotice, NotificationSettings

# Emails are queued on commit, so these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)

DAY = datetime.timedelta(days=1)


def run_notices() -> str:
    out = StringIO()
    call_command("send_token_expiry_notices", stdout=out)
    return out.getvalue()


def html_of(message: Any) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        yield traveller


@pytest.fixture
def token(make_token: MakeToken, clock: Any) -> AccessToken:
    made, _ = make_token(name="deploy-bot", expires_in=datetime.timedelta(days=30))
    mail.outbox.clear()
    return made


# -- expiry reminders -----------------------------------------------------------------


def test_each_reminder_is_sent_once_per_expiry(token: AccessToken, clock: Any) -> None:
    assert "Queued 0 expiry notices" in run_notices()
    clock.move_to(token.expires_at - 7 * DAY + datetime.timedelta(minutes=1))
    assert "Queued 1 expiry notices (0 expired, 0 due in a day, 1 due in a week)" in run_notices()
    run_notices()
    clock.move_to(token.expires_at - DAY + datetime.timedelta(minutes=1))
    run_notices()
    run_notices()
    clock.move_to(token.expires_at + datetime.timedelta(minutes=1))
    run_notices()
    run_notices()
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "Your access token expires in 6 days, 23 hours: deploy-bot",
        "Your access token expires in 23 hours, 59 minutes: deploy-bot",
        "Your access token has expired: deploy-bot",
    ]
    assert all(m.to == ["owner@example.com"] for m in mail.outbox)
    assert ExpiryNotice.objects.filter(token=token, sent_at__isnull=False).count() == 3
    assert token.events.filter(kind="expired").count() == 1


def test_a_missed_run_sends_only_the_reminder_that_is_due_now(
    token: AccessToken, clock: Any
) -> None:
    clock.move_to(token.expires_at - datetime.timedelta(hours=5))
    run_notices()
    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        "Your access token expires in 5 hours"
    ]


def test_a_regenerated_token_starts_its_reminders_afresh(token: AccessToken, clock: Any) -> None:
    clock.move_to(token.expires_at - 2 * DAY)
    run_notices()
    assert len(mail.outbox) == 1
    token.regenerate(expires_at=timezone.now() + 30 * DAY)
    mail.outbox.clear()
    run_notices()
    assert mail.outbox == []
    clock.move_to(token.expires_at - 3 * DAY)
    run_notices()
    assert len(mail.outbox) == 1
    assert "expires in 3 days" in mail.outbox[0].subject


def test_a_short_lived_token_gets_no_reminder_right_after_its_creation(
    make_token: MakeToken, clock: Any
) -> None:
    make_token(expires_in=7 * DAY)
    mail.outbox.clear()
    run_notices()
    assert mail.outbox == []


def test_tokens_that_expired_long_ago_are_not_announced(make_token: MakeToken, clock: Any) -> None:
    made, _ = make_token()
    AccessToken.objects.filter(pk=made.pk).update(expires_at=timezone.now() - 30 * DAY)
    mail.outbox.clear()
    run_notices()
    assert mail.outbox == []


def test_opting_out_of_expiry_reminders_stops_them(
    token: AccessToken, owner: Any, clock: Any
) -> None:
    NotificationSettings.objects.create(user=owner, expiry_emails=False)
    clock.move_to(token.expires_at - 2 * DAY)
    run_notices()
    assert mail.outbox == []
    assert not ExpiryNotice.objects.exists()


def test_a_reminder_task_run_twice_sends_one_email(token: AccessToken, clock: Any) -> None:
    clock.move_to(token.expires_at - 2 * DAY)
    run_notices()
    notice = ExpiryNotice.objects.get()
    assert tasks.send_expiry_email.call(notice.pk) is False
    assert len(mail.outbox) == 1


def test_the_expiry_email_has_both_parts_a_link_and_no_secret(
    make_token: MakeToken, clock: Any, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "SITE_URL": "https://tokens.example.org/"}
    made, secret = make_token(name="deploy-bot")
    mail.outbox.clear()
    clock.move_to(made.expires_at - 2 * DAY)
    run_notices()
    [message] = mail.outbox
    html = html_of(message)
    link = f"https://tokens.example.org/tokens/{made.pk}/"
    for part in (message.body, html):
        assert "deploy-bot" in part
        assert made.identifier in part
        assert link in part
        assert secret not in part
        assert secret.rsplit("_", 1)[1][:30] not in part
        assert made.expires_at.strftime("%B") in part
    assert f'href="{link}"' in html


# -- created, regenerated, new address --------------------------------------------------


def test_creating_a_token_on_the_page_emails_the_owner(owner_client: Client) -> None:
    response = owner_client.post(
        "/tokens/new/", create_form_data(owner_client, name="laptop"), REMOTE_ADDR="10.1.1.1"
    )
    assert response.status_code == 200
    [message] = mail.outbox
    assert message.subject == "A new access token was created for your account: laptop"
    assert "laptop" in message.body
    assert "10.1.1.1" in message.body
    assert AccessToken.objects.get().identifier in html_of(message)


def test_regenerating_emails_the_owner(make_token: MakeToken) -> None:
    made, _ = make_token()
    mail.outbox.clear()
    made.regenerate(expires_at=timezone.now() + 10 * DAY)
    [message] = mail.outbox
    assert message.subject.startswith("An access token was regenerated on your account")


def test_a_rolled_back_create_sends_nothing(make_token: MakeToken) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        make_token()
        raise RuntimeError
    assert mail.outbox == []
    assert not AccessToken.objects.exists()


def test_opting_out_of_new_token_emails_stops_them(make_token: MakeToken, owner: Any) -> None:
    NotificationSettings.objects.create(user=owner, new_token_emails=False)
    make_token()
    assert mail.outbox == []


def test_use_from_a_second_address_alerts_the_owner_once(
    client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token(name="ci")
    mail.outbox.clear()
    for address in ("10.0.0.1", "10.0.0.1", "203.0.113.4", "203.0.113.4"):
        assert client.get("/api/v1/user", REMOTE_ADDR=address, **bearer(secret)).status_code == 200
    [message] = mail.outbox
    assert message.subject == "Your access token was used from a new address: ci"
    assert "203.0.113.4" in message.body


# -- escaping ------------------------------------------------------------------------------


def test_names_are_escaped_in_both_parts(make_token: MakeToken, clock: Any) -> None:
    name = '<a href="https://evil.example">x</a>&'
    make_token(name=name)
    [created] = mail.outbox
    assert "&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;&amp;" in html_of(created)
    assert '<a href="https://evil.example">' not in html_of(created)
    assert name in created.body
    assert "&lt;" not in created.body


def test_hidden_characters_in_names_cannot_fake_lines(make_token: MakeToken) -> None:
    made, _ = make_token(name="ok")
    AccessToken.objects.filter(pk=made.pk).update(name="ok\nClick http://evil\u202e")
    mail.outbox.clear()
    made.refresh_from_db()
    made.regenerate(expires_at=timezone.now() + 10 * DAY)
    [message] = mail.outbox
    assert "\nClick" not in message.body
    assert "ok\\u000aClick http://evil\\u202e" in message.body
    assert "\u202e" not in html_of(message)
    assert "\n" not in message.subject
