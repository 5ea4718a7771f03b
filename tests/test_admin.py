"""Django admin for tokens: every token, findable and manageable, and never a secret."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.conftest import MakeToken, bearer, shown_secret
from tokens_app import format
from tokens_app.models import FULL_ACCESS, AccessToken

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tokens_app/accesstoken/"
ADD = "/admin/tokens_app/accesstoken/add/"


def change_url(token: AccessToken) -> str:
    return f"/admin/tokens_app/accesstoken/{token.pk}/change/"


def listed_names(response: Any) -> list[str]:
    return re.findall(
        r'<th class="field-name"><a href="[^"]+">([^<]+)</a>', response.content.decode()
    )


def issue_data(client: Client, **overrides: str) -> dict[str, str]:
    page = client.get(ADD)
    nonce = re.search(r'name="nonce" value="([^"]+)"', page.content.decode())
    assert nonce, "the admin create form must carry a one-time nonce"
    data = {
        "owner": "other",
        "name": "deploy bot",
        "expiration": "30",
        "permissions": "full",
        "nonce": nonce.group(1),
    }
    data.update(overrides)
    return data


# -- access ------------------------------------------------------------------


def test_it_requires_a_staff_login(owner_client: Client) -> None:
    response = owner_client.get(CHANGELIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


# -- the changelist --------------------------------------------------------------


def test_the_changelist_shows_every_column(
    admin_client: Client, make_token: MakeToken, other_user: Any
) -> None:
    live, _ = make_token(name="live one")
    soon, _ = make_token(name="soon one", user=other_user, state="expiring", full_access=False)
    dead, _ = make_token(name="dead one", state="expired")
    AccessToken.objects.filter(pk=live.pk).update(last_used_at=timezone.now())

    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    body = response.content.decode()
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', body)
    assert headers == [
        "owner",
        "name",
        "identifier",
        "permissions_label",
        "created",
        "expires",
        "last_used",
        "status_label",
    ]
    for label in ("Owner", "Name", "Identifier", "Permissions", "Created", "Expires", "Last used"):
        assert f">{label}</" in body, label
    for token in (live, soon, dead):
        assert f'<td class="field-identifier">{token.identifier}</td>' in body
    assert re.search(r'<td class="field-owner[^"]*">other</td>', body)
    assert '<td class="field-permissions_label">No Access</td>' in body
    assert '<td class="field-permissions_label">Full Access</td>' in body
    statuses = re.findall(r'<td class="field-status_label">([^<]+)</td>', body)
    assert sorted(statuses) == ["Active", "Expired", "Expiring soon"]
    assert body.count('<td class="field-last_used">Never</td>') == 2


def test_the_secret_hash_appears_nowhere_in_the_admin(
    admin_client: Client, make_token: MakeToken, owner: Any
) -> None:
    token, _ = make_token()
    pages = [
        CHANGELIST,
        change_url(token),
        f"/admin/tokens_app/accesstoken/{token.pk}/history/",
        f"/admin/tokens_app/accesstoken/{token.pk}/delete/",
        f"/admin/auth/user/{owner.pk}/change/",
    ]
    hash_body = token.secret_hash.rsplit("$", 1)[1]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert hash_body not in response.content.decode(), url
        assert "secret_hash" not in response.content.decode(), url


@pytest.mark.parametrize(
    "lookup",
    ["secret_hash__startswith=%24argon2id", "secret_hash=x", "creation_nonce__isnull=False"],
)
def test_the_changelist_refuses_lookups_on_the_secret_hash(
    admin_client: Client, make_token: MakeToken, lookup: str
) -> None:
    make_token()
    response = admin_client.get(f"{CHANGELIST}?{lookup}")
    assert response.status_code == 400


@pytest.mark.parametrize("count", [5, 500])
def test_the_changelist_runs_the_same_few_queries_for_5_or_500_tokens(
    admin_client: Client, django_assert_num_queries: Any, count: int
) -> None:
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"user{n}", email=f"user{n}@example.com") for n in range(50)
    )
    now = timezone.now()
    AccessToken.objects.bulk_create(
        AccessToken(
            owner=users[n % len(users)],
            name=f"token {n}",
            prefix="djpat",
            public_id=format.new_public_id(),
            secret_hash="$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA",
            permissions=[FULL_ACCESS] if n % 2 else [],
            expires_at=now + datetime.timedelta(days=n % 60 - 10),
            last_used_at=now if n % 3 else None,
        )
        for n in range(count)
    )
    # session, user, filtered count, total count, one page of rows with owners
    with django_assert_num_queries(5):
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(listed_names(response)) == min(count, 100)


# -- search ------------------------------------------------------------------


@pytest.fixture
def two_tokens(make_token: MakeToken, other_user: Any) -> tuple[AccessToken, AccessToken]:
    mine, _ = make_token(name="laptop")
    theirs, _ = make_token(name="ci server", user=other_user)
    return mine, theirs


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("owner", ["laptop"]),
        ("other@example", ["ci server"]),
        ("server", ["ci server"]),
        ("nothing-like-this", []),
    ],
)
def test_search_finds_by_owner_email_and_name(
    admin_client: Client, two_tokens: Any, term: str, found: list[str]
) -> None:
    response = admin_client.get(CHANGELIST, {"q": term})
    assert response.status_code == 200
    assert listed_names(response) == found


def test_search_finds_a_pasted_identifier(
    admin_client: Client, two_tokens: tuple[AccessToken, AccessToken]
) -> None:
    _, theirs = two_tokens
    response = admin_client.get(CHANGELIST, {"q": theirs.identifier})
    assert listed_names(response) == ["ci server"]


def test_search_finds_a_whole_pasted_token(admin_client: Client, make_token: MakeToken) -> None:
    make_token(name="decoy")
    token, secret = make_token(name="leaked")
    response = admin_client.get(CHANGELIST, {"q": f" {secret} "})
    assert listed_names(response) == [token.name]


# -- filters -----------------------------------------------------------------


@pytest.fixture
def mixed_tokens(make_token: MakeToken) -> None:
    make_token(name="live")
    make_token(name="soon", state="expiring", full_access=False)
    make_token(name="dead", state="expired")


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("status=active", ["live"]),
        ("status=expiring", ["soon"]),
        ("status=expired", ["dead"]),
        ("access=none", ["soon"]),
        ("access=full", ["live", "dead"]),
        ("access=custom", []),
        ("expires=past", ["dead"]),
        ("expires=7", ["soon"]),
        ("expires=30", ["live", "soon"]),
        ("expires=later", []),
    ],
)
def test_filters_narrow_the_list(
    admin_client: Client, mixed_tokens: None, query: str, found: list[str]
) -> None:
    response = admin_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert sorted(listed_names(response)) == sorted(found)


def test_the_filters_can_show_counts(admin_client: Client, mixed_tokens: None) -> None:
    response = admin_client.get(CHANGELIST, {"_facets": "True"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Expiring soon (1)" in body
    assert "Full Access (2)" in body
    assert "By created" in body
    assert "By created at" not in body


def test_the_created_date_filter_works(admin_client: Client, make_token: MakeToken) -> None:
    old, _ = make_token(name="old")
    make_token(name="new")
    AccessToken.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=40)
    )
    page = admin_client.get(CHANGELIST).content.decode()
    link = re.search(r'<a href="(\?created_at__gte=[^"]+)"[^>]*>Past 7 days</a>', page)
    assert link, "the created filter offers Past 7 days"
    response = admin_client.get(CHANGELIST + link.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    assert listed_names(response) == ["new"]


# -- actions -------------------------------------------------------------------


def test_revoke_selected_asks_for_confirmation_first(
    admin_client: Client, make_token: MakeToken
) -> None:
    first, _ = make_token(name="first")
    second, _ = make_token(name="second")
    keep, _ = make_token(name="keep")
    selection = {"action": "delete_selected", "_selected_action": [first.pk, second.pk]}

    changelist = admin_client.get(CHANGELIST)
    assert "Revoke selected tokens" in changelist.content.decode()

    confirm = admin_client.post(CHANGELIST, selection)
    assert confirm.status_code == 200
    assert "Are you sure" in confirm.content.decode()
    assert AccessToken.objects.count() == 3

    done = admin_client.post(CHANGELIST, {**selection, "post": "yes"}, follow=True)
    assert done.status_code == 200
    assert "Successfully deleted 2 access tokens" in done.content.decode()
    assert list(AccessToken.objects.all()) == [keep]


def test_a_revoked_token_stops_working(
    admin_client: Client, make_token: MakeToken, client: Client
) -> None:
    token, secret = make_token()
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 200
    admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [token.pk], "post": "yes"}
    )
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 401


def test_expire_now_ends_active_tokens_and_keeps_the_rows(
    admin_client: Client, make_token: MakeToken, client: Client
) -> None:
    live, secret = make_token(name="live")
    dead, _ = make_token(name="dead", state="expired")
    before = timezone.now()

    response = admin_client.post(
        CHANGELIST,
        {"action": "expire_selected", "_selected_action": [live.pk, dead.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Expired 1 token." in response.content.decode()
    live.refresh_from_db()
    assert before <= live.expires_at <= timezone.now()
    assert AccessToken.objects.get(pk=dead.pk).expires_at == dead.expires_at
    assert client.get("/api/v1/user", **bearer(secret)).status_code == 401


# -- the change form ---------------------------------------------------------------


def test_object_urls_use_the_row_id_not_a_secret(
    admin_client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = admin_client.get(CHANGELIST)
    assert f'href="/admin/tokens_app/accesstoken/{token.pk}/change/' in response.content.decode()
    assert secret not in response.content.decode()


def test_the_change_form_renames_and_rescopes(admin_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token(name="old name")
    before = AccessToken.objects.values().get(pk=token.pk)

    response = admin_client.post(
        change_url(token),
        {
            "name": "  new name  ",
            "permissions": "none",
            "secret_hash": "$argon2id$forged",
            "expires_at": "2099-01-01 00:00:00",
            "owner": "999",
        },
    )

    assert response.status_code == 302
    after = AccessToken.objects.values().get(pk=token.pk)
    assert after["name"] == "new name"
    assert after["permissions"] == []
    for field in ("secret_hash", "expires_at", "owner_id", "public_id", "created_at"):
        assert after[field] == before[field], field


def test_the_change_form_sets_custom_permissions_from_the_declared_ones(
    admin_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(name="scoped")
    response = admin_client.post(
        change_url(token),
        {"name": "scoped", "permissions": "custom", "permission_codes": ["profile:write"]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert "profile:write" in token.permissions
    assert FULL_ACCESS not in token.permissions

    page = admin_client.get(change_url(token)).content.decode()
    assert re.search(r'value="custom"[^>]*checked', page)
    assert re.search(r'value="profile:write"[^>]*checked', page)


def test_the_change_form_refuses_an_undeclared_permission(
    admin_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(name="scoped")
    response = admin_client.post(
        change_url(token),
        {"name": "scoped", "permissions": "custom", "permission_codes": ["root:everything"]},
    )
    assert response.status_code == 200
    assert "is not a permission this site declares" in response.content.decode()
    assert AccessToken.objects.get(pk=token.pk).permissions == [FULL_ACCESS]


def test_the_change_form_applies_the_settings_page_name_rules(
    admin_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(name="fine")
    response = admin_client.post(
        change_url(token), {"name": "evil\u202ename", "permissions": "full"}
    )
    assert response.status_code == 200
    assert "text-direction characters" in response.content.decode()
    assert AccessToken.objects.get(pk=token.pk).name == "fine"


def test_the_change_form_shows_the_token_without_secret_fields(
    admin_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token(name="shown")
    body = admin_client.get(change_url(token)).content.decode()
    assert token.identifier in body
    assert 'name="name"' in body
    assert 'name="permissions"' in body
    for field in ("secret_hash", "expires_at", "owner", "public_id", "prefix"):
        assert f'name="{field}"' not in body


# -- creating a token for someone ----------------------------------------------


def test_creating_a_token_shows_the_secret_once_and_uncached(
    admin_client: Client, other_user: Any, client: Client
) -> None:
    response = admin_client.post(ADD, issue_data(admin_client))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = shown_secret(response.content)
    assert secret and secret.startswith("djpat_")
    token = AccessToken.objects.get()
    assert token.owner == other_user
    assert token.name == "deploy bot"
    assert token.permissions == [FULL_ACCESS]
    assert format.parse(secret).public_id == token.public_id  # type: ignore[union-attr]
    assert client.get("/api/v1/user", **bearer(secret)).json()["username"] == "other"


def test_the_new_secret_never_goes_to_cookies_or_the_session(
    admin_client: Client, other_user: Any
) -> None:
    response = admin_client.post(ADD, issue_data(admin_client))
    secret = shown_secret(response.content)
    assert secret
    assert "messages" not in response.cookies
    for morsel in admin_client.cookies.values():
        assert secret not in morsel.value
    session = admin_client.session
    assert all(secret not in str(value) for value in session.values())
    later = admin_client.get(CHANGELIST).content.decode()
    assert secret not in later


def test_creating_records_an_admin_log_entry(admin_client: Client, other_user: Any) -> None:
    from django.contrib.admin.models import LogEntry

    admin_client.post(ADD, issue_data(admin_client))
    entry = LogEntry.objects.get()
    assert entry.object_id == str(AccessToken.objects.get().pk)
    assert entry.is_addition()


def test_the_create_form_can_be_prefilled_with_the_owner(
    admin_client: Client, other_user: Any
) -> None:
    body = admin_client.get(ADD, {"owner": "other"}).content.decode()
    assert re.search(r'name="owner" value="other"', body)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"owner": "nobody"}, "There is no user called “nobody”."),
        ({"name": ""}, "Enter a name for the token."),
        ({"name": "zero\u200bwidth"}, "zero-width"),
        ({"expiration": "400"}, "Choose one of the offered durations"),
        ({"expiration": "custom", "expires_on": "2020-01-01"}, "must be in the future"),
    ],
)
def test_a_bad_create_form_says_why_and_creates_nothing(
    admin_client: Client, other_user: Any, overrides: dict[str, str], message: str
) -> None:
    response = admin_client.post(ADD, issue_data(admin_client, **overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AccessToken.objects.exists()


def test_the_create_form_refuses_a_lifetime_beyond_the_maximum(
    admin_client: Client, other_user: Any, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_LIFETIME_DAYS": 100}
    too_far = (timezone.localdate() + datetime.timedelta(days=120)).isoformat()
    response = admin_client.post(
        ADD, issue_data(admin_client, expiration="custom", expires_on=too_far)
    )
    assert response.status_code == 200
    assert "Tokens can live at most 100 days" in response.content.decode()
    assert not AccessToken.objects.exists()


def test_the_create_form_refuses_a_user_at_the_limit_with_a_clear_message(
    admin_client: Client, other_user: Any, make_token: MakeToken, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_TOKENS_PER_USER": 2}
    make_token(user=other_user, name="one")
    make_token(user=other_user, name="two")
    response = admin_client.post(ADD, issue_data(admin_client))
    assert response.status_code == 200
    assert "other already has the maximum of 2 active tokens" in response.content.decode()
    assert other_user.access_tokens.count() == 2


def test_a_double_submitted_create_form_makes_one_token(
    admin_client: Client, other_user: Any
) -> None:
    data = issue_data(admin_client)
    first = admin_client.post(ADD, data)
    second = admin_client.post(ADD, data)
    assert first.status_code == 200
    assert second.status_code == 302
    assert second["Location"] == CHANGELIST
    assert AccessToken.objects.count() == 1
    assert shown_secret(first.content)


def test_the_create_form_without_a_nonce_is_refused(admin_client: Client, other_user: Any) -> None:
    data = issue_data(admin_client)
    del data["nonce"]
    response = admin_client.post(ADD, data)
    assert response.status_code == 200
    assert not AccessToken.objects.exists()
    assert "This form is out of date" in response.content.decode()


# -- the User change page -------------------------------------------------------


def test_the_user_page_lists_their_tokens_with_a_revoke_link(
    admin_client: Client, make_token: MakeToken, owner: Any, other_user: Any
) -> None:
    mine, _ = make_token(name="my laptop")
    make_token(name="not mine", user=other_user)

    response = admin_client.get(f"/admin/auth/user/{owner.pk}/change/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "my laptop" in body
    assert mine.identifier in body
    assert "not mine" not in body
    assert f'href="/admin/tokens_app/accesstoken/{mine.pk}/delete/"' in body
    assert 'name="access_tokens-0-name"' not in body  # read-only: no inputs


def test_the_revoke_link_confirms_then_deletes(admin_client: Client, make_token: MakeToken) -> None:
    token, _ = make_token()
    url = f"/admin/tokens_app/accesstoken/{token.pk}/delete/"
    assert "Are you sure" in admin_client.get(url).content.decode()
    assert AccessToken.objects.filter(pk=token.pk).exists()
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not AccessToken.objects.filter(pk=token.pk).exists()


def test_expire_now_is_offered_on_the_change_form_too(
    admin_client: Client, make_token: MakeToken
) -> None:
    token, _ = make_token()
    page = admin_client.get(change_url(token)).content.decode()
    assert '<option value="expire_selected">Expire now</option>' in page

    response = admin_client.post(
        change_url(token),
        {"CHANGE_FORM-action": "expire_selected", "_selected_action": [token.pk]},
    )

    assert response.status_code == 302
    assert AccessToken.objects.get(pk=token.pk).is_expired()
