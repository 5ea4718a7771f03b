"""POST /api/v1/tokens/revoke: anyone may report a leaked token, and the answer is no oracle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from tests.conftest import MakeToken, bearer
from tokens_app import format
from tokens_app.api import REVOKE_MAX_TOKENS, REVOKE_REQUESTS_PER_WINDOW
from tokens_app.models import AccessToken, TokenEvent

pytestmark = pytest.mark.django_db
URL = "/api/v1/tokens/revoke"


def report(client: Client, body: Any, *, raw: bool = False, **extra: Any) -> Any:
    data = body if raw else json.dumps(body)
    return client.post(URL, data, content_type="application/json", **extra)


def leak_emails() -> list[Any]:
    return [m for m in mail.outbox if "reported as leaked" in m.subject]


def fingerprint(response: Any) -> tuple[Any, ...]:
    """Everything a reporter can observe, apart from timing."""
    return (
        response.status_code,
        response.content,
        sorted(
            (name, value)
            for name, value in response.headers.items()
            if name not in {"Date", "Content-Security-Policy"}
        ),
    )


def test_a_reported_token_is_revoked_logged_and_its_owner_emailed(
    make_token: MakeToken, owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    token, secret = make_token(name="ci-deploy")
    client = Client(enforce_csrf_checks=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = report(client, [secret])
    assert response.status_code == 202
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 401
    emails = leak_emails()
    assert len(emails) == 1
    assert emails[0].to == ["owner@example.com"]
    assert "“ci-deploy”" in emails[0].subject
    assert token.identifier in emails[0].body
    assert secret not in emails[0].body and secret not in emails[0].subject
    event = TokenEvent.objects.get(kind=TokenEvent.Kind.REPORTED_LEAKED)
    assert (event.owner, event.token_identifier, event.token) == (owner, token.identifier, None)
    assert event.actor == TokenEvent.Actor.CLIENT
    assert event.ip == "127.0.0.1"


def test_it_accepts_the_three_documented_shapes(
    client: Client,
    make_token: MakeToken,
    other_user: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    one, secret_one = make_token(name="one")
    two, secret_two = make_token(name="two")
    three, secret_three = make_token(user=other_user, name="three")
    with django_capture_on_commit_callbacks(execute=True):
        report(client, [secret_one, "junk"])
        report(client, {"tokens": [secret_two]})
        report(client, [{"token": secret_three, "type": "djpat", "url": "https://example.com/x"}])
    assert not AccessToken.objects.filter(pk__in=[one.pk, two.pk, three.pk]).exists()
    assert sorted(m.to[0] for m in leak_emails()) == [
        "other@example.com",
        "owner@example.com",
        "owner@example.com",
    ]


def test_it_revokes_an_expired_token_too(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token(state="expired")
    assert report(client, [secret]).status_code == 202
    assert not AccessToken.objects.filter(pk=token.pk).exists()


def test_every_input_gets_the_identical_answer(
    client: Client, make_token: MakeToken, settings: Any
) -> None:
    _, valid = make_token()
    _, expired = make_token(state="expired")
    kept, kept_secret = make_token(name="kept")
    right_id_wrong_secret = format.build(kept.prefix, kept.public_id, "A" * format.SECRET_LENGTH)
    bad_checksum = kept_secret[:-1] + ("A" if kept_secret[-1] != "A" else "B")
    bodies: list[tuple[Any, bool]] = [
        ([valid], False),
        ([expired], False),
        ([right_id_wrong_secret], False),
        ([bad_checksum], False),
        (["djpat_not_a_token"], False),
        ([], False),
        ({}, False),
        ({"tokens": "djpat_x"}, False),
        ([1, None, {"token": 5}], False),
        ("a string", False),
        (b"", True),
        (b"{not json", True),
        (b"\xff\xfe\x00", True),
        (b"[" + b'"x",' * 30_000 + b'"x"]', True),
    ]
    answers = [fingerprint(report(client, body, raw=raw)) for body, raw in bodies]
    assert all(answer == answers[0] for answer in answers)
    status, content, headers = answers[0]
    assert status == 202
    assert json.loads(content) == {
        "status": "accepted",
        "message": "Thank you. Any valid access token in this report has been revoked "
        "and its owner told.",
    }
    assert ("Cache-Control", "no-store, private") in headers
    assert AccessToken.objects.filter(pk=kept.pk).exists()
    assert client.get("/api/v1/user", **bearer(kept_secret)).status_code == 200


def test_a_form_encoded_body_gets_the_same_answer_and_revokes_nothing(
    client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = client.post(URL, {"tokens": secret})
    assert response.status_code == 202
    assert fingerprint(response) == fingerprint(report(client, []))
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_a_report_is_bounded_in_tokens(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    response = report(client, ["junk"] * REVOKE_MAX_TOKENS + [secret])
    assert response.status_code == 202
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_it_rejects_get_with_json(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


def test_it_is_throttled_per_client_address(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    for _ in range(REVOKE_REQUESTS_PER_WINDOW):
        assert report(client, ["junk"]).status_code == 202
    refused = report(client, [secret])
    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert refused.json()["error"] == "rate_limited"
    assert AccessToken.objects.filter(pk=token.pk).exists()
    elsewhere = report(client, [secret], REMOTE_ADDR="192.0.2.7")
    assert elsewhere.status_code == 202
    assert not AccessToken.objects.filter(pk=token.pk).exists()


def test_a_mail_failure_does_not_change_the_answer(
    client: Client,
    make_token: MakeToken,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    token, secret = make_token()

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionRefusedError

    monkeypatch.setattr("tokens_app.api.send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = report(client, [secret])
    assert len(callbacks) == 1
    assert fingerprint(response) == fingerprint(report(client, ["junk"]))
    assert not AccessToken.objects.filter(pk=token.pk).exists()
