"""The token API: /api/v1/tokens/self, rotate, and the owner's tokens with tokens:read/write."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import MakeToken, bearer
from tokens_app.models import FULL_ACCESS, AccessToken

pytestmark = pytest.mark.django_db


def issue(owner: Any, permissions: list[str], name: str = "api") -> tuple[AccessToken, str]:
    return AccessToken.objects.issue(
        owner=owner,
        name=name,
        permissions=permissions,
        expires_at=timezone.now() + datetime.timedelta(days=10),
    )


def send(client: Client, method: str, url: str, secret: str, body: Any = None) -> Any:
    data = "" if body is None else json.dumps(body)
    return getattr(client, method)(url, data, "application/json", **bearer(secret))


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- /tokens/self -----------------------------------------------------------------


def test_self_describes_the_calling_token(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token(name="laptop")
    response = client.get("/api/v1/tokens/self", **bearer(secret))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body == {
        "id": token.pk,
        "name": "laptop",
        "identifier": token.identifier,
        "permissions": [FULL_ACCESS],
        "created_at": body["created_at"],
        "expires_at": body["expires_at"],
        "last_used_at": body["last_used_at"],
        "regenerated_at": None,
    }
    assert datetime.datetime.fromisoformat(body["expires_at"]) == token.expires_at.replace(
        microsecond=token.expires_at.microsecond // 1000 * 1000
    )
    assert body["last_used_at"] is not None
    assert secret not in response.content.decode()


def test_self_works_for_a_no_access_token(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token(full_access=False)
    response = client.get("/api/v1/tokens/self", **bearer(secret))
    assert response.status_code == 200
    assert response.json()["permissions"] == []


def test_self_requires_a_token(client: Client, owner_client: Client) -> None:
    assert client.get("/api/v1/tokens/self").status_code == 401
    response = owner_client.get("/api/v1/tokens/self")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_self_refuses_an_invalid_token_the_rfc_6750_way(client: Client) -> None:
    response = client.get("/api/v1/tokens/self", **bearer("djpat_nope"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["error"] == "invalid_token"


def test_delete_self_revokes_the_calling_token(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    response = client.delete("/api/v1/tokens/self", **bearer(secret))
    assert response.status_code == 204
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert client.get("/api/v1/tokens/self", **bearer(secret)).status_code == 401


def test_self_rejects_other_methods_with_json(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    response = client.put("/api/v1/tokens/self", **bearer(secret))
    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, DELETE"


# -- rotate ---------------------------------------------------------------------------


def test_rotate_returns_a_new_secret_once_and_kills_the_old_one(
    client: Client, make_token: MakeToken
) -> None:
    token, old = make_token(name="ci")
    response = send(client, "post", "/api/v1/tokens/self/rotate", old, {"expires_in_days": 60})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    new = body["secret"]
    assert new != old and new.startswith(token.identifier + "_")
    assert body["token"]["id"] == token.pk and body["token"]["name"] == "ci"
    token.refresh_from_db()
    expected = timezone.now() + datetime.timedelta(days=60)
    assert abs(token.expires_at - expected) < datetime.timedelta(minutes=1)
    assert token.regenerated_at is not None
    assert client.get("/api/v1/tokens/self", **bearer(old)).status_code == 401
    assert client.get("/api/v1/tokens/self", **bearer(new)).status_code == 200


def test_rotate_with_an_empty_body_uses_the_default_expiry(
    client: Client, make_token: MakeToken
) -> None:
    token, secret = make_token()
    response = send(client, "post", "/api/v1/tokens/self/rotate", secret)
    assert response.status_code == 200
    token.refresh_from_db()
    expected = timezone.now() + datetime.timedelta(days=30)
    assert abs(token.expires_at - expected) < datetime.timedelta(minutes=1)


def test_rotate_accepts_an_exact_expiry(client: Client, make_token: MakeToken) -> None:
    token, secret = make_token()
    when = (timezone.now() + datetime.timedelta(days=5)).replace(microsecond=0)
    response = send(
        client, "post", "/api/v1/tokens/self/rotate", secret, {"expires_at": when.isoformat()}
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.expires_at == when


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        ({"expires_in_days": 400}, "expires_in_days", "at most 366 days"),
        ({"expires_in_days": 0}, "expires_in_days", "whole number of days"),
        ({"expires_in_days": "30"}, "expires_in_days", "whole number of days"),
        ({"expires_in_days": True}, "expires_in_days", "whole number of days"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at", "must be in the future"),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at", "with an offset"),
        ({"expires_at": "tomorrow"}, "expires_at", "ISO 8601"),
        ({"expires_at": "2027-02-30T00:00:00Z"}, "expires_at", "ISO 8601"),
        ({"expires_at": "2027-13-01T00:00:00Z"}, "expires_at", "ISO 8601"),
        ({"expires_at": "2027-01-01T25:00:00Z"}, "expires_at", "ISO 8601"),
        ({"expires_at": "2027-01-01T00:00:00+25:00"}, "expires_at", "ISO 8601"),
        ({"expires_in_days": 10**23}, "expires_in_days", "whole number of days"),
        ({"expires_at": "2030-01-01T00:00:00Z", "expires_in_days": 3}, "expires_at", "not both"),
    ],
)
def test_rotate_refuses_an_expiry_outside_the_policy_and_keeps_the_secret(
    client: Client, make_token: MakeToken, body: dict[str, Any], field: str, fragment: str
) -> None:
    token, secret = make_token()
    before = (token.secret_hash, token.expires_at)
    response = send(client, "post", "/api/v1/tokens/self/rotate", secret, body)
    error = assert_error(response, 400, "invalid_expiry")
    assert error["field"] == field
    assert fragment in error["message"]
    token.refresh_from_db()
    assert (token.secret_hash, token.expires_at) == before
    assert client.get("/api/v1/tokens/self", **bearer(secret)).status_code == 200


def test_rotate_refuses_unknown_fields_and_bad_json(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    response = send(client, "post", "/api/v1/tokens/self/rotate", secret, {"name": "x"})
    assert assert_error(response, 400, "unknown_field")["field"] == "name"
    response = client.post(
        "/api/v1/tokens/self/rotate", "{oops", "application/json", **bearer(secret)
    )
    assert_error(response, 400, "invalid_json")
    response = send(client, "post", "/api/v1/tokens/self/rotate", secret, [1, 2])
    assert_error(response, 400, "invalid_body")
    response = client.post(
        "/api/v1/tokens/self/rotate", b"\xff\xfe", "application/json", **bearer(secret)
    )
    assert_error(response, 400, "invalid_json")


def test_rotate_refuses_a_huge_body(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    body = json.dumps({"expires_in_days": 1, "pad": "x" * 20_000})
    response = client.post("/api/v1/tokens/self/rotate", body, "application/json", **bearer(secret))
    assert_error(response, 413, "body_too_large")


# -- listing ------------------------------------------------------------------------------


def test_list_needs_tokens_read(client: Client, owner: Any) -> None:
    _, secret = issue(owner, ["profile:read"])
    response = client.get("/api/v1/tokens", **bearer(secret))
    assert response.status_code == 403
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="tokens:read"'


def test_list_shows_only_the_owners_tokens_newest_first(
    client: Client, owner: Any, other_user: Any, make_token: MakeToken
) -> None:
    make_token(name="first")
    make_token(name="second")
    make_token(user=other_user, name="not-mine")
    _, secret = issue(owner, ["tokens:read"], name="reader")
    response = client.get("/api/v1/tokens", **bearer(secret))
    assert response.status_code == 200
    body = response.json()
    assert [t["name"] for t in body["results"]] == ["reader", "second", "first"]
    assert (body["count"], body["page"], body["per_page"]) == (3, 1, 20)
    assert body["next"] is None and body["previous"] is None


def test_list_is_paginated(client: Client, owner: Any, make_token: MakeToken) -> None:
    for number in range(4):
        make_token(name=f"t{number}")
    _, secret = issue(owner, ["tokens:read"], name="reader")
    response = client.get("/api/v1/tokens?page=2&per_page=2", **bearer(secret))
    body = response.json()
    assert [t["name"] for t in body["results"]] == ["t2", "t1"]
    assert body["count"] == 5
    assert body["next"] == "/api/v1/tokens?page=3&per_page=2"
    assert body["previous"] == "/api/v1/tokens?page=1&per_page=2"
    last = client.get(body["next"], **bearer(secret)).json()
    assert [t["name"] for t in last["results"]] == ["t0"] and last["next"] is None
    beyond = client.get("/api/v1/tokens?page=9&per_page=2", **bearer(secret)).json()
    assert beyond["results"] == [] and beyond["count"] == 5


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=101", "per_page=-1", "page="])
def test_list_refuses_bad_page_parameters(client: Client, owner: Any, query: str) -> None:
    _, secret = issue(owner, ["tokens:read"])
    assert_error(client.get(f"/api/v1/tokens?{query}", **bearer(secret)), 400, "invalid_page")


def test_show_one_token_and_404_for_anothers(
    client: Client, owner: Any, other_user: Any, make_token: MakeToken
) -> None:
    mine, _ = make_token(name="mine")
    theirs, _ = make_token(user=other_user, name="theirs")
    _, secret = issue(owner, ["tokens:read"])
    response = client.get(f"/api/v1/tokens/{mine.pk}", **bearer(secret))
    assert response.status_code == 200 and response.json()["name"] == "mine"
    assert_error(client.get(f"/api/v1/tokens/{theirs.pk}", **bearer(secret)), 404, "not_found")
    huge = client.get(f"/api/v1/tokens/{2**70}", **bearer(secret))
    assert_error(huge, 404, "not_found")


def test_an_unknown_api_url_is_a_json_404(client: Client) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


# -- creating ---------------------------------------------------------------------------------


def test_create_needs_tokens_write(client: Client, owner: Any) -> None:
    _, secret = issue(owner, ["tokens:read"])
    response = send(client, "post", "/api/v1/tokens", secret, {"name": "new"})
    assert response.status_code == 403
    assert response.json()["scope"] == "tokens:write"
    assert AccessToken.objects.count() == 1


def test_create_issues_a_token_shown_once(client: Client, owner: Any) -> None:
    _, secret = issue(owner, ["tokens:write", "profile:read"])
    response = send(
        client,
        "post",
        "/api/v1/tokens",
        secret,
        {"name": "  deploy  ", "permissions": ["profile:read"], "expires_in_days": 7},
    )
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    created = AccessToken.objects.get(pk=body["token"]["id"])
    assert response["Location"] == f"/api/v1/tokens/{created.pk}"
    assert (created.owner, created.name, created.permissions) == (owner, "deploy", ["profile:read"])
    assert body["secret"] not in created.secret_hash
    assert client.get("/api/v1/user", **bearer(body["secret"])).status_code == 200


def test_create_defaults_to_no_access(client: Client, owner: Any) -> None:
    _, secret = issue(owner, [FULL_ACCESS])
    response = send(client, "post", "/api/v1/tokens", secret, {"name": "bare"})
    assert response.status_code == 201
    assert AccessToken.objects.get(name="bare").permissions == []


def test_a_full_access_token_may_create_a_full_access_token(client: Client, owner: Any) -> None:
    _, secret = issue(owner, [FULL_ACCESS])
    response = send(client, "post", "/api/v1/tokens", secret, {"name": "all", "permissions": ["*"]})
    assert response.status_code == 201
    assert AccessToken.objects.get(name="all").permissions == [FULL_ACCESS]


def test_a_token_cannot_grant_more_than_it_holds(client: Client, owner: Any) -> None:
    _, secret = issue(owner, ["tokens:write"])
    for wanted in (["*"], ["profile:write"]):
        response = send(
            client, "post", "/api/v1/tokens", secret, {"name": "up", "permissions": wanted}
        )
        error = assert_error(response, 403, "permission_not_held")
        assert error["field"] == "permissions"
    assert not AccessToken.objects.filter(name="up").exists()


@pytest.mark.parametrize(
    ("body", "code", "fragment"),
    [
        ({}, "invalid_name", "name as a string"),
        ({"name": "   "}, "invalid_name", "Enter a name"),
        ({"name": "x" * 64}, "invalid_name", "at most 63 characters"),
        ({"name": "a\u202eb"}, "invalid_name", "text-direction"),
        ({"name": 12}, "invalid_name", "name as a string"),
        ({"name": "ok", "permissions": ["billing:read"]}, "invalid_permissions", "“billing:read”"),
        ({"name": "ok", "permissions": "*"}, "invalid_permissions", "list of permission codes"),
        ({"name": "ok", "permissions": ["*", "tokens:read"]}, "invalid_permissions", "alone"),
        ({"name": "ok", "expires_in_days": 367}, "invalid_expiry", "366 days"),
        ({"name": "ok", "owner": 2}, "unknown_field", "owner"),
    ],
)
def test_create_follows_the_pages_rules(
    client: Client, owner: Any, body: dict[str, Any], code: str, fragment: str
) -> None:
    _, secret = issue(owner, [FULL_ACCESS])
    response = send(client, "post", "/api/v1/tokens", secret, body)
    assert fragment in assert_error(response, 400, code)["message"]
    assert AccessToken.objects.count() == 1


def test_create_stops_at_the_per_user_limit(client: Client, owner: Any, settings: Any) -> None:
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "MAX_TOKENS_PER_USER": 2}
    _, secret = issue(owner, [FULL_ACCESS])
    assert send(client, "post", "/api/v1/tokens", secret, {"name": "two"}).status_code == 201
    response = send(client, "post", "/api/v1/tokens", secret, {"name": "three"})
    assert "limit of active tokens" in assert_error(response, 409, "token_limit_reached")["message"]
    assert AccessToken.objects.count() == 2


def test_a_session_cannot_use_the_api(owner_client: Client) -> None:
    response = owner_client.post("/api/v1/tokens", {"name": "x"})
    assert response.status_code == 401
    assert not AccessToken.objects.exists()


# -- updating and deleting ------------------------------------------------------------------------


def test_update_renames_and_rescopes(client: Client, owner: Any, make_token: MakeToken) -> None:
    target, target_secret = make_token(name="old")
    _, secret = issue(owner, [FULL_ACCESS])
    response = send(
        client,
        "patch",
        f"/api/v1/tokens/{target.pk}",
        secret,
        {"name": "new", "permissions": ["profile:write"]},
    )
    assert response.status_code == 200
    assert response.json()["permissions"] == ["profile:read", "profile:write"]
    target.refresh_from_db()
    assert (target.name, target.permissions) == ("new", ["profile:read", "profile:write"])
    assert client.get("/api/v1/tokens", **bearer(target_secret)).status_code == 403


def test_update_of_only_the_name_keeps_the_permissions(
    client: Client, owner: Any, make_token: MakeToken
) -> None:
    target, _ = make_token(name="old")
    _, secret = issue(owner, ["tokens:write"])
    response = send(client, "patch", f"/api/v1/tokens/{target.pk}", secret, {"name": "renamed"})
    assert response.status_code == 200
    target.refresh_from_db()
    assert (target.name, target.permissions) == ("renamed", [FULL_ACCESS])


def test_update_refuses_bad_input_and_changes_nothing(
    client: Client, owner: Any, make_token: MakeToken
) -> None:
    target, _ = make_token(name="old")
    _, secret = issue(owner, ["tokens:write"])
    url = f"/api/v1/tokens/{target.pk}"
    assert_error(send(client, "patch", url, secret, {}), 400, "invalid_body")
    assert_error(
        send(client, "patch", url, secret, {"name": "ok", "permissions": ["nope"]}),
        400,
        "invalid_permissions",
    )
    assert_error(
        send(client, "patch", url, secret, {"name": "ok", "permissions": ["*"]}),
        403,
        "permission_not_held",
    )
    target.refresh_from_db()
    assert (target.name, target.permissions) == ("old", [FULL_ACCESS])


def test_update_and_delete_404_for_another_users_token(
    client: Client, owner: Any, other_user: Any, make_token: MakeToken
) -> None:
    theirs, _ = make_token(user=other_user, name="theirs")
    _, secret = issue(owner, [FULL_ACCESS])
    url = f"/api/v1/tokens/{theirs.pk}"
    assert_error(send(client, "patch", url, secret, {"name": "mine now"}), 404, "not_found")
    assert_error(client.delete(url, **bearer(secret)), 404, "not_found")
    theirs.refresh_from_db()
    assert theirs.name == "theirs"


def test_delete_revokes_at_once(client: Client, owner: Any, make_token: MakeToken) -> None:
    target, target_secret = make_token()
    _, secret = issue(owner, ["tokens:write"])
    response = client.delete(f"/api/v1/tokens/{target.pk}", **bearer(secret))
    assert response.status_code == 204
    assert not AccessToken.objects.filter(pk=target.pk).exists()
    assert client.get("/api/v1/tokens/self", **bearer(target_secret)).status_code == 401


def test_delete_needs_tokens_write(client: Client, owner: Any, make_token: MakeToken) -> None:
    target, _ = make_token()
    _, secret = issue(owner, ["tokens:read"])
    response = client.delete(f"/api/v1/tokens/{target.pk}", **bearer(secret))
    assert response.status_code == 403
    assert AccessToken.objects.filter(pk=target.pk).exists()
