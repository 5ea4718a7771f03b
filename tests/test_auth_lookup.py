"""The compiled token lookup gives exactly what the ORM gives, with one query and no compile."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import MakeToken
from tokens_app import format
from tokens_app.auth import find_token
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db


def fields(instance: Any) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_it_builds_the_same_token_and_owner_as_the_orm(make_token: MakeToken) -> None:
    token, _ = make_token(name="laptop", full_access=False)
    AccessToken.objects.filter(pk=token.pk).update(permissions=["profile:read"])
    expected = AccessToken.objects.select_related("owner").get(pk=token.pk)
    found = find_token(token.public_id)
    assert found is not None
    assert fields(found) == fields(expected)
    assert fields(found.owner) == fields(expected.owner)
    assert found.owner.is_active is True
    assert found.permissions == ["profile:read"]
    assert found.expires_at.tzinfo is not None


def test_it_costs_one_query_and_the_owner_comes_with_it(
    make_token: MakeToken, django_assert_num_queries: Any
) -> None:
    token, _ = make_token()
    with django_assert_num_queries(1):
        found = find_token(token.public_id)
        assert found is not None
        assert found.owner.get_username() == "owner"


def test_an_unknown_id_is_none(make_token: MakeToken) -> None:
    make_token()
    assert find_token(format.new_public_id()) is None


def test_a_found_token_saves_like_any_other(make_token: MakeToken) -> None:
    token, _ = make_token(name="before")
    found = find_token(token.public_id)
    assert found is not None
    found.update_details(name="after", permissions=[])
    token.refresh_from_db()
    assert (token.name, token.permissions) == ("after", [])
    assert AccessToken.objects.count() == 1
