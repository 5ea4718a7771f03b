from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MakeToken

pytestmark = pytest.mark.django_db


def test_it_requires_login(client: Client) -> None:
    response = client.get("/tokens/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/tokens/")


def test_settings_leads_to_access_tokens(owner_client: Client) -> None:
    response = owner_client.get("/settings/")
    assert response.status_code == 302
    assert response["Location"] == "/tokens/"


def test_the_page_is_titled_and_marks_its_nav_item_current(owner_client: Client) -> None:
    body = owner_client.get("/tokens/").content.decode()
    assert "<title>Access Tokens" in body
    assert re.search(r'<a href="/tokens/" aria-current="page">Access Tokens</a>', body)
    assert "<h1>Access Tokens</h1>" in body


def test_an_empty_list_invites_the_first_token(owner_client: Client) -> None:
    body = owner_client.get("/tokens/").content.decode()
    assert "No access tokens yet" in body
    assert 'href="/tokens/new/"' in body


def test_it_lists_name_identifier_permissions_dates_and_never_the_secret(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token(name="ci-deploy")
    body = owner_client.get("/tokens/").content.decode()
    assert "ci-deploy" in body
    assert token.identifier in body
    assert "Full Access" in body
    assert token.created_at.strftime("%b") in body
    assert "Never" in body
    assert secret not in body
    assert secret.rsplit("_", 1)[1] not in body


def test_it_shows_newest_first(owner_client: Client, make_token: MakeToken) -> None:
    make_token(name="older-token")
    make_token(name="newer-token")
    body = owner_client.get("/tokens/").content.decode()
    assert body.index("newer-token") < body.index("older-token")


def test_it_badges_expired_and_expiring_tokens(owner_client: Client, make_token: MakeToken) -> None:
    make_token(name="gone", state="expired")
    make_token(name="soon", state="expiring")
    body = owner_client.get("/tokens/").content.decode()
    assert body.count(">Expired</span>") == 1
    assert body.count(">Expires soon</span>") == 1


def test_it_shows_last_used(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    token.record_use(ip="127.0.0.1", now=timezone.now() - datetime.timedelta(hours=2))
    body = owner_client.get("/tokens/").content.decode()
    assert "2\xa0hours ago" in body
    assert "Never" not in body


def test_it_lists_only_my_tokens(
    owner_client: Client, make_token: MakeToken, other_user: Any
) -> None:
    make_token(name="mine")
    make_token(name="theirs", user=other_user)
    body = owner_client.get("/tokens/").content.decode()
    assert "mine" in body
    assert "theirs" not in body


def test_it_rejects_post(owner_client: Client) -> None:
    assert owner_client.post("/tokens/").status_code == 405


def test_names_are_escaped(owner_client: Client, make_token: MakeToken) -> None:
    make_token(name="<script>alert(1)</script>")
    body = owner_client.get("/tokens/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_a_token_used_seconds_ago_was_used_just_now(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    token.record_use(ip="127.0.0.1")
    body = owner_client.get("/tokens/").content.decode()
    assert "just now" in body
    assert "0\xa0minutes" not in body
