from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import bearer, create_form_data, shown_secret
from tokens_app.models import FULL_ACCESS, AccessToken

pytestmark = pytest.mark.django_db


def test_it_requires_login(client: Client) -> None:
    assert client.get("/tokens/new/").status_code == 302
    response = client.post("/tokens/new/", {"name": "x"})
    assert response.status_code == 302
    assert not AccessToken.objects.exists()


def test_the_form_has_its_title_fields_and_safe_defaults(owner_client: Client) -> None:
    body = owner_client.get("/tokens/new/").content.decode()
    assert "<title>New Access Token" in body
    assert "<h1>New Access Token</h1>" in body
    assert ">Token Name</label>" in body
    assert "Up to 63 characters" in body
    for days in (7, 30, 60, 90, 180):
        assert f'value="{days}"' in body
    assert '<option value="30" selected>30 days</option>' in body
    assert 'value="custom"' in body
    assert 'type="date"' in body
    assert (
        'value="none" id="id_permissions_0" aria-describedby="id_permissions_0_help" checked'
        in body
    )
    assert ">No Access</label>" in body and ">Full Access</label>" in body
    assert (
        'value="full" id="id_permissions_1" aria-describedby="id_permissions_1_help" required>'
        in body
    )
    assert ">Create Access Token</button>" in body


def test_create_shows_the_secret_once_with_no_store(owner_client: Client, owner: Any) -> None:
    response = owner_client.post("/tokens/new/", create_form_data(owner_client))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert ">New access token</label>" in body
    assert ">Copy</button>" in body
    assert "will not be shown again" in body
    secret = shown_secret(response.content)
    token = AccessToken.objects.get()
    assert token.owner == owner
    assert token.name == "ci-deploy"
    assert token.permissions == [FULL_ACCESS]
    assert secret is not None and secret.startswith(token.identifier + "_")
    assert token.expires_at.strftime("%b") in body
    expected = timezone.now() + datetime.timedelta(days=30)
    assert abs((token.expires_at - expected).total_seconds()) < 60
    # The secret is nowhere after this response: not in the session, the list or messages.
    assert secret not in owner_client.get("/tokens/").content.decode()
    session = owner_client.session
    assert all(secret not in str(value) for value in session.values())


def test_the_created_token_works_against_the_api(owner_client: Client, owner: Any) -> None:
    secret = shown_secret(owner_client.post("/tokens/new/", create_form_data(owner_client)).content)
    response = Client().get("/api/v1/user", **bearer(secret or ""))
    assert response.status_code == 200
    assert response.json()["username"] == "owner"


def test_no_access_is_what_you_get_unless_you_choose(owner_client: Client) -> None:
    data = create_form_data(owner_client)
    del data["permissions"]
    response = owner_client.post("/tokens/new/", data)
    assert response.status_code == 200
    assert "Choose a level" in response.content.decode()
    assert not AccessToken.objects.exists()
    owner_client.post("/tokens/new/", create_form_data(owner_client, permissions="none"))
    assert AccessToken.objects.get().permissions == []


def test_submitting_the_same_form_twice_creates_one_token_and_hides_the_secret(
    owner_client: Client,
) -> None:
    data = create_form_data(owner_client)
    first = owner_client.post("/tokens/new/", data)
    secret = shown_secret(first.content)
    again = owner_client.post("/tokens/new/", data, follow=True)
    assert AccessToken.objects.count() == 1
    assert again.redirect_chain == [("/tokens/", 302)]
    body = again.content.decode()
    assert "already created" in body
    assert shown_secret(again.content) is None
    assert secret not in body


def test_reloading_the_list_after_create_does_not_show_the_secret(owner_client: Client) -> None:
    secret = shown_secret(owner_client.post("/tokens/new/", create_form_data(owner_client)).content)
    body = owner_client.get("/tokens/").content.decode()
    assert secret and secret not in body
    assert 'id="new-token"' not in body


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "   "}, "Enter a name for the token."),
        ({"name": "x" * 10_000}, "Use at most 63 characters"),
        ({"name": "bad\x07bell"}, "control, zero-width or text-direction"),
        ({"name": "evil\u202eexe"}, "control, zero-width or text-direction"),
        ({"name": "zero\u200bwidth"}, "control, zero-width or text-direction"),
        ({"expiration": "45"}, "Choose one of the offered durations"),
        ({"expiration": "custom", "expires_on": ""}, "Pick the date"),
        ({"expiration": "custom", "expires_on": "2026-02-30"}, "Enter a real date"),
        ({"expiration": "custom", "expires_on": "not-a-date"}, "Enter a real date"),
        ({"expiration": "custom", "expires_on": "2001-01-01"}, "must be in the future"),
        ({"expiration": "custom", "expires_on": "2999-01-01"}, "at most 366 days"),
        ({"permissions": "admin"}, "Choose No Access or Full Access."),
        ({"nonce": "not-a-uuid"}, "This form is out of date."),
    ],
)
def test_bad_input_gets_a_clear_message_and_creates_nothing(
    owner_client: Client, overrides: dict[str, str], message: str
) -> None:
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AccessToken.objects.exists()


def test_a_custom_date_sets_the_expiry_to_that_day(owner_client: Client) -> None:
    day = timezone.localdate() + datetime.timedelta(days=10)
    owner_client.post(
        "/tokens/new/",
        create_form_data(owner_client, expiration="custom", expires_on=day.isoformat()),
    )
    assert timezone.localtime(AccessToken.objects.get().expires_at).date() == day


def test_names_are_trimmed_and_may_hold_emoji(owner_client: Client) -> None:
    owner_client.post("/tokens/new/", create_form_data(owner_client, name="  deploy 🚀  "))
    assert AccessToken.objects.get().name == "deploy 🚀"


def test_going_over_the_limit_is_a_message_not_an_error(
    owner_client: Client, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_TOKENS_PER_USER": 1}
    owner_client.post("/tokens/new/", create_form_data(owner_client))
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, name="second"))
    assert response.status_code == 200
    assert "limit of active tokens" in response.content.decode()
    assert AccessToken.objects.count() == 1


def test_csrf_is_enforced_for_session_users(csrf_client: Client) -> None:
    response = csrf_client.post(
        "/tokens/new/",
        {"name": "x", "expiration": "30", "permissions": "full", "nonce": "0" * 32},
    )
    assert response.status_code == 403
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    "name", ["👩\u200d💻 laptop", "🏳️\u200d🌈 pride", "🔑 family 👩\u200d👩\u200d👧\u200d👦"]
)
def test_emoji_joined_by_zero_width_joiners_are_welcome(owner_client: Client, name: str) -> None:
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, name=name))
    assert response.status_code == 200
    assert AccessToken.objects.get().name == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x\u200dy", "control, zero-width or text-direction"),
        ("e" + "\u0301" * 50, "stacks more than 4 accents"),
    ],
)
def test_hidden_joiners_and_piles_of_accents_are_refused(
    owner_client: Client, name: str, message: str
) -> None:
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, name=name))
    assert message in response.content.decode()
    assert not AccessToken.objects.exists()


def test_a_custom_date_lasts_through_that_whole_day(owner_client: Client) -> None:
    day = timezone.localdate() + datetime.timedelta(days=1)
    owner_client.post(
        "/tokens/new/",
        create_form_data(owner_client, expiration="custom", expires_on=day.isoformat()),
    )
    expires = timezone.localtime(AccessToken.objects.get().expires_at)
    assert expires.date() == day
    assert (expires.hour, expires.minute) == (23, 59)


def test_the_last_date_offered_is_accepted_and_capped_at_the_maximum_lifetime(
    owner_client: Client,
) -> None:
    last = (timezone.now() + datetime.timedelta(days=366)).date()
    body = owner_client.get("/tokens/new/").content.decode()
    assert f'max="{last.isoformat()}"' in body
    owner_client.post(
        "/tokens/new/",
        create_form_data(owner_client, expiration="custom", expires_on=last.isoformat()),
    )
    token = AccessToken.objects.get()
    assert token.expires_at <= timezone.now() + datetime.timedelta(days=366)


@pytest.mark.parametrize("typed", ["12/25/2027", "25.12.2027"])
def test_a_custom_date_must_be_written_yyyy_mm_dd(owner_client: Client, typed: str) -> None:
    response = owner_client.post(
        "/tokens/new/", create_form_data(owner_client, expiration="custom", expires_on=typed)
    )
    assert "Enter a real date, as YYYY-MM-DD." in response.content.decode()
    assert not AccessToken.objects.exists()
