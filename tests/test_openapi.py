"""/api/v1/openapi.json describes the API, and the running API keeps to it (schemathesis)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tokens_app.models import FULL_ACCESS, AccessToken

OPERATIONS = {
    ("GET", "/tokens/self"),
    ("DELETE", "/tokens/self"),
    ("POST", "/tokens/self/rotate"),
    ("GET", "/tokens"),
    ("POST", "/tokens"),
    ("GET", "/tokens/{id}"),
    ("PATCH", "/tokens/{id}"),
    ("DELETE", "/tokens/{id}"),
    ("POST", "/tokens/revoke"),
}


@pytest.mark.django_db
def test_the_description_is_served_and_lists_every_operation(client: Client) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    document = response.json()
    assert document["openapi"] == "3.0.3"
    found = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert found == OPERATIONS
    assert document["paths"]["/tokens/revoke"]["post"]["security"] == []
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.django_db
def test_the_description_lists_the_declared_permissions(client: Client, settings: Any) -> None:
    enum = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["NewToken"][
        "properties"
    ]["permissions"]["items"]["enum"]
    assert enum == ["*", "profile:read", "profile:write", "tokens:read", "tokens:write"]
    settings.ACCESS_TOKENS = {**settings.ACCESS_TOKENS, "PERMISSIONS": []}
    enum = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["NewToken"][
        "properties"
    ]["permissions"]["items"]["enum"]
    assert enum == ["*"]


def fresh_secret() -> str:
    """A new Full Access token for every example, since some examples delete or rotate it."""
    owner, _ = get_user_model().objects.get_or_create(
        username="schema-owner", defaults={"email": "schema@example.com"}
    )
    owner.access_tokens.all().delete()
    _, secret = AccessToken.objects.issue(
        owner=owner,
        name="schemathesis",
        permissions=[FULL_ACCESS],
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    return secret


@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_to_its_description(live_server: Any) -> None:
    """Generated requests for every operation, over loopback; a few examples each, to stay quick.

    Every check runs but "schema-valid data is accepted": rules such as "the
    expiry is in the future" or "no control characters in names" are not
    JSON Schema, so a schema-valid body may rightly get a documented 400.
    """
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(op.method.upper(), op.path) for op in operations} == OPERATIONS
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def keeps_to_it(case: Any) -> None:
            case.call_and_validate(
                base_url=f"{live_server.url}/api/v1",
                headers={"Authorization": f"Bearer {fresh_secret()}"},
                excluded_checks=[positive_data_acceptance],
            )

        keeps_to_it()
