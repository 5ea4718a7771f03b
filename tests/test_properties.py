"""Properties of the token format and the bearer check, over generated inputs (hypothesis)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import MakeToken
from tokens_app import format
from tokens_app.auth import check_token
from tokens_app.forms import clean_token_name
from tokens_app.models import AccessToken

# The database-backed properties run inside one test's transaction; their
# examples only read, so sharing the function-scoped fixtures is safe.
DB_PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def issued(make_token: MakeToken) -> tuple[AccessToken, str]:
    """One real token, made once per test rather than once per example."""
    return make_token()


base62 = st.text(alphabet=format.ALPHABET, min_size=1, max_size=80)
prefixes = st.from_regex(format.PREFIX_PATTERN, fullmatch=True)
public_ids = st.text(
    alphabet=format.ALPHABET, min_size=format.PUBLIC_ID_LENGTH, max_size=format.PUBLIC_ID_LENGTH
)
secrets_ = st.text(
    alphabet=format.ALPHABET, min_size=format.SECRET_LENGTH, max_size=format.SECRET_LENGTH
)
# Strings that look like tokens as well as arbitrary text, so the regex and checksum paths run.
token_like = st.one_of(
    st.text(),
    st.text(alphabet=format.ALPHABET + "_", max_size=format.MAX_TOKEN_LENGTH + 2),
    st.builds(lambda p, i, s: f"{p}_{i}_{s}", prefixes, public_ids, base62),
    st.binary().map(lambda raw: raw.decode("latin-1")),
    st.builds(format.build, prefixes, public_ids, secrets_),
)


@given(token_like)
@example("")
@example("djpat_")
@example("\x00" * 100)
@example("djpat_" + "A" * 12 + "_" + "\udcff" * 36)
@example("djpat_" + "٣" * 12 + "_" + "٣" * 36)
def test_no_string_crashes_the_parser(value: str) -> None:
    parsed = format.parse(value)
    assert parsed is None or isinstance(parsed, format.ParsedToken)


@given(prefixes, public_ids, secrets_)
def test_building_then_parsing_a_token_round_trips(
    prefix: str, public_id: str, secret: str
) -> None:
    token = format.build(prefix, public_id, secret)
    assert format.parse(token) == format.ParsedToken(prefix, public_id, secret)
    assert len(token) <= format.MAX_TOKEN_LENGTH
    assert set(token) <= set(format.ALPHABET + "_")


@given(prefixes, public_ids, secrets_, st.data())
def test_any_single_character_change_fails_the_checksum(
    prefix: str, public_id: str, secret: str, data: st.DataObject
) -> None:
    token = format.build(prefix, public_id, secret)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1), label="position")
    replacement = data.draw(
        st.characters(codec="utf-8").filter(lambda ch: ch != token[position]), label="replacement"
    )
    changed = token[:position] + replacement + token[position + 1 :]
    assert format.parse(changed) is None


@given(prefixes, public_ids, secrets_, st.data())
def test_dropping_or_adding_a_character_is_refused(
    prefix: str, public_id: str, secret: str, data: st.DataObject
) -> None:
    token = format.build(prefix, public_id, secret)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    extra = data.draw(st.sampled_from(format.ALPHABET))
    assert format.parse(token[:position] + token[position + 1 :]) is None
    assert format.parse(token[:position] + extra + token[position:]) is None


@pytest.mark.django_db
@DB_PROPERTY
@given(value=token_like)
def test_no_random_string_authenticates(issued: tuple[AccessToken, str], value: str) -> None:
    assert check_token(value).token is None


@pytest.mark.django_db
@DB_PROPERTY
@given(secret=secrets_)
def test_a_well_formed_token_with_a_real_id_but_another_secret_is_refused(
    issued: tuple[AccessToken, str], secret: str
) -> None:
    """The checksum holds, the row exists: only the argon2 check stands between it and access."""
    token, real = issued
    forged = format.build(token.prefix, token.public_id, secret)
    if forged == real:
        return
    assert check_token(forged).token is None


def accepted_name(value: str) -> bool:
    """Names every entry point (pages, admin, API) would let through to the model."""
    try:
        return clean_token_name(value) == value
    except ValidationError:
        return False


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(min_size=1, max_size=63).filter(accepted_name),
    full_access=st.booleans(),
)
def test_an_issued_token_with_any_accepted_name_is_stored_parses_and_authenticates(
    owner: Any, name: str, full_access: bool
) -> None:
    token, secret = AccessToken.objects.issue(
        owner=owner,
        name=name,
        permissions=["*"] if full_access else [],
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    parsed = format.parse(secret)
    assert parsed is not None
    assert (parsed.prefix, parsed.public_id) == (token.prefix, token.public_id)
    assert parsed.secret not in AccessToken.objects.get(pk=token.pk).secret_hash
    assert check_token(secret).token == token
