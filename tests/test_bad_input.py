"""Bad input of every class: a clear message or the right status, never a 500, nothing changed.

The create form's field-by-field messages live in tests/test_views_create.py and the
common Authorization header shapes in tests/test_api_user.py; this file covers the rest:
raw bytes through a real server, the edit and regenerate forms, escaping on every
screen that shows a name, tampered hidden fields, methods, CSRF and ids.
"""

from __future__ import annotations

import datetime
import json
import re
import socket
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from tests.conftest import MakeToken, bearer, create_form_data, shown_secret
from tokens_app import views
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db
API = "/api/v1/user"


def snapshot() -> list[tuple[Any, ...]]:
    """Every stored column of every token, to prove a refused request changed nothing."""
    return list(
        AccessToken.objects.order_by("pk").values_list(
            "pk",
            "owner_id",
            "name",
            "permissions",
            "secret_hash",
            "generation",
            "expires_at",
            "regenerated_at",
            "last_used_at",
        )
    )


def assert_refused_token(response: Any) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["error"] == "invalid_token"


# -- Authorization header values -------------------------------------------------


def raw_request(server_url: str, head: bytes) -> tuple[int, bytes]:
    """Send bytes a Python client library would refuse to send, and read the status line."""
    host, port = server_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            received += chunk
    status = int(received.split(b" ", 2)[1])
    return status, received.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "value",
    [
        b"Bearer \xff\xfe\xfd",
        b"Bearer \xc3\x28",
        b"Bearer djpat_\x80\x81\x82",
        b"\xff\xfe Bearer",
        b"Bearer\xa0djpat_abc",
    ],
)
def test_non_utf8_header_bytes_through_a_real_server_get_401(
    live_server: Any, make_token: MakeToken, value: bytes
) -> None:
    make_token()
    before = snapshot()
    head = (
        b"GET " + API.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Authorization: " + value + b"\r\n\r\n"
    )
    status, body = raw_request(live_server.url, head)
    assert status == 401
    assert json.loads(body)["error"] in {"invalid_token", "unauthorized"}
    assert snapshot() == before


def test_a_valid_token_followed_by_raw_bytes_is_refused(
    live_server: Any, make_token: MakeToken
) -> None:
    _, secret = make_token()
    head = (
        b"GET " + API.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Authorization: Bearer " + secret.encode() + b"\xff\r\n\r\n"
    )
    status, body = raw_request(live_server.url, head)
    assert status == 401
    assert json.loads(body)["error"] == "invalid_token"
    assert AccessToken.objects.get().last_used_at is None


def test_a_64_kb_header_is_refused_by_the_server_or_the_app_never_a_500(
    live_server: Any, make_token: MakeToken
) -> None:
    make_token()
    before = snapshot()
    head = (
        b"GET " + API.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Authorization: Bearer " + b"A" * 65_536 + b"\r\n\r\n"
    )
    status, _ = raw_request(live_server.url, head)
    assert status in {400, 401, 431}
    assert snapshot() == before


@pytest.mark.parametrize("change", ["drop_last", "add_one", "double", "prefix_only", "id_only"])
def test_a_token_of_the_wrong_length_is_refused_without_touching_the_row(
    client: Client, make_token: MakeToken, change: str
) -> None:
    token, secret = make_token()
    value = {
        "drop_last": secret[:-1],
        "add_one": secret + "A",
        "double": secret + secret,
        "prefix_only": f"{token.prefix}_",
        "id_only": token.identifier,
    }[change]
    before = snapshot()
    assert_refused_token(client.get(API, **bearer(value)))
    assert snapshot() == before


@pytest.mark.parametrize("spacing", ["\xa0", "\u2003", "\u200b", "\u3000"])
def test_unicode_spaces_around_or_inside_the_token_are_refused(
    client: Client, make_token: MakeToken, spacing: str
) -> None:
    _, secret = make_token()
    for value in (
        f"Bearer {secret}{spacing}",
        f"Bearer{spacing}{secret}",
        f"Bearer {spacing}{secret}",
    ):
        response = client.get(API, HTTP_AUTHORIZATION=value)
        assert response.status_code == 401
    assert AccessToken.objects.get().last_used_at is None


# -- form fields ---------------------------------------------------------------

EVIL = '<script>alert("pwned")</script>"><img src=x onerror=alert(1)>'


def test_a_name_with_html_is_escaped_on_every_page_dialog_partial_admin_and_email(
    owner_client: Client, admin_client: Client, owner: Any
) -> None:
    name = EVIL[:63]
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, name=name))
    assert response.status_code == 200
    assert shown_secret(response.content)
    token = AccessToken.objects.get()
    assert token.name == name
    htmx = {"headers": {"HX-Request": "true"}}
    screens = {
        "secret panel": response,
        "list and its dialogs": owner_client.get("/tokens/"),
        "edit page": owner_client.get(f"/tokens/{token.pk}/edit/"),
        "edit row partial": owner_client.get(f"/tokens/{token.pk}/edit/", **htmx),
        "row partial": owner_client.get(f"/tokens/{token.pk}/row/", **htmx),
        "regenerate page": owner_client.get(f"/tokens/{token.pk}/regenerate/"),
        "delete page": owner_client.get(f"/tokens/{token.pk}/delete/"),
        "admin list": admin_client.get("/admin/tokens_app/accesstoken/"),
        "admin change": admin_client.get(f"/admin/tokens_app/accesstoken/{token.pk}/change/"),
        "admin delete": admin_client.get(f"/admin/tokens_app/accesstoken/{token.pk}/delete/"),
    }
    for screen, page in screens.items():
        assert page.status_code == 200, screen
        body = page.content.decode()
        assert "<script>alert" not in body, screen
        assert "<img src=x" not in body, screen
        assert escape(name) in body, screen
    saved = owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": name, "permissions": "none"}, **htmx
    )
    assert saved.status_code == 200
    assert "<script>alert" not in saved.content.decode()
    # The live-region message travels as JSON in a header; it must stay valid JSON.
    assert name in json.loads(saved["HX-Trigger"])["tokens:status"]["message"]
    html_parts = [m.body for m in mail.outbox if m.content_subtype == "html"] + [
        content
        for m in mail.outbox
        for content, mimetype in getattr(m, "alternatives", [])
        if mimetype == "text/html"
    ]
    for part in html_parts:
        assert "<script>alert" not in part
        assert escape(name) in part
    assert AccessToken.objects.get().name == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 10_000, "Use at most 63 characters"),
        ("nul\x00byte", "Null characters are not allowed"),
        ("esc\x1b[31mred", "control, zero-width or text-direction"),
        ("line\r\nbreak", "control, zero-width or text-direction"),
        ("para\u2029sep", "control, zero-width or text-direction"),
        ("rtl\u202egpj.exe", "control, zero-width or text-direction"),
        ("isolate\u2066x\u2069", "control, zero-width or text-direction"),
        ("zw\u200djoiner", "control, zero-width or text-direction"),
        ("bom\ufeff", "control, zero-width or text-direction"),
        ("private\ue000use", "control, zero-width or text-direction"),
        ("   ", "Enter a name for the token."),
        ("\u3000\u2003\t", "Enter a name for the token."),
        ("", "Enter a name for the token."),
    ],
)
def test_the_edit_form_refuses_bad_names_with_a_message_and_changes_nothing(
    owner_client: Client, make_token: MakeToken, name: str, message: str
) -> None:
    token, _ = make_token(name="keep-me")
    before = snapshot()
    response = owner_client.post(f"/tokens/{token.pk}/edit/", {"name": name, "permissions": "full"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize(
    "name", ["🔑 deploy", "ci 🚀🚀🚀", "🇫🇷 prod", "👍🏽 ok", "日本語のトークン", "Ünïcödé"]
)
def test_emoji_and_other_scripts_are_kept_as_typed(
    owner_client: Client, make_token: MakeToken, name: str
) -> None:
    token, _ = make_token()
    response = owner_client.post(f"/tokens/{token.pk}/edit/", {"name": name, "permissions": "full"})
    assert response.status_code == 302
    assert AccessToken.objects.get().name == name
    assert escape(name) in owner_client.get("/tokens/").content.decode()


def test_a_name_that_normalises_to_63_characters_fits(owner_client: Client) -> None:
    decomposed = "e\u0301" * 63  # 126 code points, 63 once composed
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, name=decomposed))
    assert response.status_code == 200
    assert AccessToken.objects.get().name == "é" * 63


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"expiration": "custom", "expires_on": "2027-13-01"}, "Enter a real date"),
        ({"expiration": "custom", "expires_on": "2027-02-29"}, "Enter a real date"),
        ({"expiration": "custom", "expires_on": "0000-00-00"}, "Enter a real date"),
        ({"expiration": "custom", "expires_on": "99999-01-01"}, "Enter a real date"),
        ({"expiration": "custom", "expires_on": "2027-1-1'; DROP TABLE x;--"}, "Enter a real date"),
        ({"expiration": "custom", "expires_on": "9999-12-31"}, "at most 366 days"),
        ({"expiration": "custom", "expires_on": "0001-01-01"}, "must be in the future"),
        ({"expiration": "custom", "expires_on": "today"}, "Enter a real date"),
        ({"expiration": "custom"}, "Pick the date"),
        ({"expiration": "-30"}, "Choose one of the offered durations"),
        ({"expiration": "0"}, "Choose one of the offered durations"),
        ({"expiration": "1e9"}, "Choose one of the offered durations"),
        ({"expiration": "99999999999999999999"}, "Choose one of the offered durations"),
        ({}, "This field is required"),
    ],
)
def test_the_regenerate_form_refuses_bad_dates_and_keeps_the_old_secret(
    owner_client: Client, make_token: MakeToken, fields: dict[str, str], message: str
) -> None:
    token, secret = make_token()
    before = snapshot()
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/", {"generation": str(token.generation), **fields}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert shown_secret(response.content) is None
    assert snapshot() == before
    assert Client().get(API, **bearer(secret)).status_code == 200


def test_today_and_one_day_past_the_maximum_are_refused_and_the_last_allowed_day_is_not(
    owner_client: Client,
) -> None:
    today = timezone.localdate()
    too_far = (timezone.now() + datetime.timedelta(days=367)).date()
    for day, message in ((today, "must be in the future"), (too_far, "at most 366 days")):
        data = create_form_data(owner_client, expiration="custom", expires_on=day.isoformat())
        response = owner_client.post("/tokens/new/", data)
        assert message in response.content.decode()
    assert not AccessToken.objects.exists()
    last = (timezone.now() + datetime.timedelta(days=366)).date()
    data = create_form_data(owner_client, expiration="custom", expires_on=last.isoformat())
    assert shown_secret(owner_client.post("/tokens/new/", data).content)


@pytest.mark.parametrize("value", ["*", "admin", "FULL", "full ", "", "none,full", '["*"]'])
def test_unknown_permission_values_are_refused_on_create_and_edit(
    owner_client: Client, make_token: MakeToken, value: str
) -> None:
    token, _ = make_token(full_access=False)
    before = snapshot()
    edit = owner_client.post(f"/tokens/{token.pk}/edit/", {"name": "x-y", "permissions": value})
    create = owner_client.post("/tokens/new/", create_form_data(owner_client, permissions=value))
    for response in (edit, create):
        assert response.status_code == 200
        assert re.search(r"Choose (No Access or Full Access|a level)", response.content.decode())
    assert snapshot() == before


# -- tampered hidden fields --------------------------------------------------------


@pytest.mark.parametrize("action", ["edit", "regenerate", "delete"])
def test_another_users_token_id_is_404_and_untouched(
    owner_client: Client, make_token: MakeToken, other_user: Any, action: str
) -> None:
    theirs, secret = make_token(user=other_user, name="theirs")
    before = snapshot()
    data = {"name": "mine now", "permissions": "none", "expiration": "30", "generation": "1"}
    assert owner_client.get(f"/tokens/{theirs.pk}/{action}/").status_code == 404
    assert owner_client.post(f"/tokens/{theirs.pk}/{action}/", data).status_code == 404
    assert snapshot() == before
    assert Client().get(API, **bearer(secret)).status_code == 200


def test_extra_fields_cannot_move_a_token_to_another_owner(
    owner_client: Client, make_token: MakeToken, other_user: Any, owner: Any
) -> None:
    token, _ = make_token()
    extra = {
        "owner": str(other_user.pk),
        "owner_id": str(other_user.pk),
        "public_id": "AAAAAAAAAAAA",
        "secret_hash": "$argon2id$forged",
        "generation": "99",
        "expires_at": "2099-01-01",
    }
    owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "renamed", "permissions": "full", **extra}
    )
    owner_client.post("/tokens/new/", create_form_data(owner_client, name="fresh", **extra))
    stored = AccessToken.objects.order_by("pk")
    assert [(t.owner_id, t.name) for t in stored] == [(owner.pk, "renamed"), (owner.pk, "fresh")]
    assert not stored.filter(public_id="AAAAAAAAAAAA").exists()
    assert all(t.generation == 1 and t.secret_hash.startswith("$argon2id$v=") for t in stored)
    assert all(t.expires_at < timezone.now() + datetime.timedelta(days=367) for t in stored)


@pytest.mark.parametrize(
    "generation", ["1", "3", "0", "-1", "abc", "", "1.5", "99999999999999999999", "2147483648"]
)
def test_a_stale_or_tampered_generation_never_regenerates(
    owner_client: Client, make_token: MakeToken, generation: str
) -> None:
    token, _ = make_token()
    token.regenerate(expires_at=token.expires_at)  # now at generation 2: "1" is stale
    current = AccessToken.objects.get()
    before = snapshot()
    response = owner_client.post(
        f"/tokens/{token.pk}/regenerate/", {"generation": generation, "expiration": "30"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert shown_secret(response.content) is None
    assert "regenerated elsewhere" in body or "out of date" in body
    assert snapshot() == before
    assert AccessToken.objects.get().secret_hash == current.secret_hash


@pytest.mark.parametrize("nonce", ["", "not-a-uuid", "0" * 33, "{}", "' OR 1=1 --"])
def test_a_missing_or_tampered_nonce_creates_nothing(owner_client: Client, nonce: str) -> None:
    response = owner_client.post("/tokens/new/", create_form_data(owner_client, nonce=nonce))
    assert response.status_code == 200
    assert "This form is out of date" in response.content.decode()
    assert not AccessToken.objects.exists()


def test_a_nonce_already_used_by_another_user_still_creates_mine(
    owner_client: Client, other_user: Any
) -> None:
    """Nonces are per owner: someone else's cannot block or replay my create."""
    theirs = Client()
    theirs.force_login(other_user)
    data = create_form_data(theirs, name="theirs")
    theirs.post("/tokens/new/", data)
    response = owner_client.post("/tokens/new/", {**data, "name": "mine"})
    assert shown_secret(response.content)
    assert sorted(AccessToken.objects.values_list("name", flat=True)) == ["mine", "theirs"]


# -- methods and ids ---------------------------------------------------------------


def token_urls(pk: Any) -> list[str]:
    return [f"/tokens/{pk}/edit/", f"/tokens/{pk}/regenerate/", f"/tokens/{pk}/delete/"]


@pytest.mark.parametrize("method", ["put", "patch", "delete", "options"])
def test_other_methods_on_token_pages_get_405_and_change_nothing(
    owner_client: Client, make_token: MakeToken, method: str
) -> None:
    token, _ = make_token()
    before = snapshot()
    for url in ["/tokens/", "/tokens/new/", f"/tokens/{token.pk}/row/", *token_urls(token.pk)]:
        response = getattr(owner_client, method)(url)
        assert response.status_code == 405, url
        assert "Allow" in response
    assert snapshot() == before


@pytest.mark.parametrize(
    ("url", "method"),
    [
        ("/accounts/logout/", "get"),
        ("/tokens/", "post"),
        ("/tokens/{pk}/row/", "post"),
        (API, "post"),
    ],
)
def test_the_wrong_method_on_a_single_method_endpoint_gets_405(
    owner_client: Client, make_token: MakeToken, url: str, method: str
) -> None:
    token, _ = make_token()
    before = snapshot()
    response = getattr(owner_client, method)(url.format(pk=token.pk))
    assert response.status_code == 405
    assert snapshot() == before
    assert owner_client.get("/tokens/").status_code == 200  # still logged in


@pytest.mark.parametrize("action", ["edit", "regenerate", "delete"])
def test_a_post_without_the_csrf_token_gets_403_and_changes_nothing(
    csrf_client: Client, make_token: MakeToken, action: str
) -> None:
    token, secret = make_token()
    before = snapshot()
    data = {"name": "x-y", "permissions": "none", "expiration": "30", "generation": "1"}
    response = csrf_client.post(f"/tokens/{token.pk}/{action}/", data)
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/html")
    wrong = csrf_client.post(
        f"/tokens/{token.pk}/{action}/", data, headers={"X-CSRFToken": "x" * 64}
    )
    assert wrong.status_code == 403
    assert snapshot() == before
    assert Client().get(API, **bearer(secret)).status_code == 200


@pytest.mark.parametrize(
    "pk", ["999999", "0", "abc", "1.5", "-1", "1e3", "99999999999999999999999", "%00", "１"]
)
def test_a_missing_or_malformed_id_is_404(
    owner_client: Client, make_token: MakeToken, pk: str
) -> None:
    make_token()
    before = snapshot()
    for url in [f"/tokens/{pk}/row/", *token_urls(pk)]:
        assert owner_client.get(url).status_code == 404, url
        assert owner_client.post(url, {"name": "x-y", "permissions": "full"}).status_code in {
            404,
            405,
        }, url
    assert snapshot() == before


def test_saving_an_edit_of_a_token_deleted_meanwhile_is_404_not_500(
    owner_client: Client, make_token: MakeToken, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edit form was open while the token was deleted elsewhere (another tab, the API)."""
    token, _ = make_token()
    real = views._own_token

    def deleted_after_loading(request: Any, pk: int) -> AccessToken:
        loaded = real(request, pk)
        AccessToken.objects.filter(pk=pk).delete()
        return loaded

    monkeypatch.setattr(views, "_own_token", deleted_after_loading)
    response = owner_client.post(
        f"/tokens/{token.pk}/edit/", {"name": "renamed", "permissions": "full"}
    )
    assert response.status_code == 404
    assert not AccessToken.objects.exists()
