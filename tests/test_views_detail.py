"""GET /tokens/<id>/: a token's facts and its activity, newest first, paginated."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MakeToken, bearer
from tokens_app import activity
from tokens_app.models import TokenEvent

pytestmark = pytest.mark.django_db


def test_it_requires_login(client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    response = client.get(f"/tokens/{token.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next=/tokens/{token.pk}/")


def test_it_returns_404_for_other_users_token(
    owner_client: Client, make_token: MakeToken, other_user: Any
) -> None:
    token, _ = make_token(user=other_user)
    assert owner_client.get(f"/tokens/{token.pk}/").status_code == 404


def test_it_rejects_post(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    assert owner_client.post(f"/tokens/{token.pk}/").status_code == 405


def test_the_list_links_each_name_to_its_page(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token(name="ci-deploy")
    body = owner_client.get("/tokens/").content.decode()
    assert f'<a href="/tokens/{token.pk}/">ci-deploy</a>' in body


def test_the_list_shows_last_used_time_and_address(
    owner_client: Client, client: Client, make_token: MakeToken
) -> None:
    _, secret = make_token()
    assert (
        client.get("/api/v1/user", REMOTE_ADDR="198.51.100.23", **bearer(secret)).status_code == 200
    )
    body = owner_client.get("/tokens/").content.decode()
    assert "from <code>198.51.100.23</code>" in body


def test_it_shows_the_facts_and_never_the_secret(
    owner_client: Client, client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token(name="ci-deploy")
    client.get("/api/v1/user", REMOTE_ADDR="198.51.100.23", **bearer(secret))
    response = owner_client.get(f"/tokens/{token.pk}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "<h1>ci-deploy</h1>" in body
    assert token.identifier in body
    assert "Full Access" in body
    assert "from <code>198.51.100.23</code>" in body
    assert f'href="/tokens/{token.pk}/regenerate/"' in body
    assert f'href="/tokens/{token.pk}/edit/"' in body
    assert f'href="/tokens/{token.pk}/delete/"' in body
    assert secret not in body
    assert secret.rsplit("_", 1)[1][:30] not in body


def test_it_lists_activity_newest_first_with_who_and_where(
    owner_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(name="before")
    owner_client.post(
        f"/tokens/{token.pk}/edit/",
        {"name": "after", "permissions": "full"},
        REMOTE_ADDR="10.2.3.4",
        HTTP_USER_AGENT="Firefox/140",
    )
    body = owner_client.get(f"/tokens/{token.pk}/").content.decode()
    assert body.index("Renamed from “before” to “after”.") < body.index("Created with Full Access.")
    assert "<code>10.2.3.4</code>" in body
    assert "Firefox/140" in body
    assert re.search(r'data-label="By">Owner<', body)
    assert re.search(r'data-label="By">System<', body)


def test_it_escapes_what_clients_sent(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    activity.record(
        token,
        TokenEvent.Kind.FAILED_ATTEMPTS,
        origin=activity.Origin(user_agent="<script>x</script>"),
    )
    body = owner_client.get(f"/tokens/{token.pk}/").content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in body
    assert "<script>x</script>" not in body


def test_it_paginates_the_activity(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    start = timezone.now() - datetime.timedelta(days=1)
    for minute in range(30):
        event = activity.record(
            token, TokenEvent.Kind.NEW_ADDRESS, origin=activity.Origin(ip=f"10.0.0.{minute}")
        )
        TokenEvent.objects.filter(pk=event.pk).update(
            created_at=start + datetime.timedelta(minutes=minute)
        )
    first = owner_client.get(f"/tokens/{token.pk}/").content.decode()
    assert first.count('class="event event-') == 25
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert "First use from 10.0.0.29." in first
    second = owner_client.get(f"/tokens/{token.pk}/?page=2").content.decode()
    assert second.count('class="event event-') == 6
    assert "First use from 10.0.0.0." in second
    assert owner_client.get(f"/tokens/{token.pk}/?page=banana").status_code == 200


def test_an_empty_log_says_so(owner_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    TokenEvent.objects.all().delete()
    body = owner_client.get(f"/tokens/{token.pk}/").content.decode()
    assert "No activity recorded yet." in body
