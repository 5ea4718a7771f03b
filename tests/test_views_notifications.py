"""/settings/notifications/: one switch per kind of token email."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from tokens_app.models import NotificationSettings

pytestmark = pytest.mark.django_db

URL = "/settings/notifications/"


def test_it_requires_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={URL}")


def test_it_is_in_the_settings_nav_and_marked_current(owner_client: Client) -> None:
    body = owner_client.get(URL).content.decode()
    assert re.search(rf'<a href="{URL}" aria-current="page">Notifications</a>', body)
    assert '<a href="/tokens/">Access Tokens</a>' in body
    tokens_page = owner_client.get("/tokens/").content.decode()
    assert f'<a href="{URL}">Notifications</a>' in tokens_page


def test_every_kind_is_on_by_default_and_reading_writes_nothing(owner_client: Client) -> None:
    body = owner_client.get(URL).content.decode()
    assert body.count("checked") == 3
    assert not NotificationSettings.objects.exists()


def test_switching_everything_off_is_saved(owner_client: Client, owner: Any) -> None:
    response = owner_client.post(URL, {})
    assert response.status_code == 302
    assert response["Location"] == URL
    saved = NotificationSettings.objects.get(user=owner)
    assert (saved.expiry_emails, saved.new_token_emails, saved.new_address_emails) == (
        False,
        False,
        False,
    )
    page = owner_client.get(URL).content.decode()
    assert "Notification settings saved." in page
    assert "checked" not in page


def test_switching_one_back_on(owner_client: Client, owner: Any) -> None:
    NotificationSettings.objects.create(user=owner, expiry_emails=False, new_token_emails=False)
    owner_client.post(URL, {"expiry_emails": "on"})
    saved = NotificationSettings.objects.get(user=owner)
    assert (saved.expiry_emails, saved.new_token_emails, saved.new_address_emails) == (
        True,
        False,
        False,
    )


def test_it_only_changes_my_settings(owner_client: Client, other_user: Any) -> None:
    NotificationSettings.objects.create(user=other_user)
    owner_client.post(URL, {})
    assert NotificationSettings.objects.get(user=other_user).expiry_emails is True


def test_it_needs_a_csrf_token(csrf_client: Client) -> None:
    assert csrf_client.post(URL, {}).status_code == 403
    assert not NotificationSettings.objects.exists()


def test_it_rejects_put(owner_client: Client) -> None:
    assert owner_client.put(URL).status_code == 405
