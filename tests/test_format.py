from __future__ import annotations

import re
import zlib

import pytest

from tokens_app import format

TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_]+")


def test_a_built_token_parses_back_into_its_parts() -> None:
    public_id, secret = format.new_public_id(), format.new_secret()
    token = format.build("djpat", public_id, secret)
    parsed = format.parse(token)
    assert parsed == format.ParsedToken("djpat", public_id, secret)
    assert parsed.identifier == f"djpat_{public_id}"


def test_it_uses_only_word_characters_so_a_double_click_selects_it_whole() -> None:
    token = format.build("djpat", format.new_public_id(), format.new_secret())
    assert TOKEN_SHAPE.fullmatch(token)
    assert token.startswith("djpat_")


def test_the_secret_carries_at_least_160_bits() -> None:
    import math

    assert format.SECRET_LENGTH * math.log2(len(format.ALPHABET)) >= 160
    assert len(set(format.ALPHABET)) == 62


def test_secrets_differ_each_time() -> None:
    assert len({format.new_secret() for _ in range(200)}) == 200


def test_the_checksum_is_crc32_of_the_body_in_six_base62_digits() -> None:
    token = format.build("djpat", "A" * 12, "b" * 30)
    body, check = token[:-6], token[-6:]
    value = 0
    for char in check:
        value = value * 62 + format.ALPHABET.index(char)
    assert value == zlib.crc32(body.encode())


def test_a_prefix_with_underscores_still_parses() -> None:
    token = format.build("acme_pat", format.new_public_id(), format.new_secret())
    parsed = format.parse(token)
    assert parsed is not None and parsed.prefix == "acme_pat"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t + "A",  # too long
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # checksum typo
        lambda t: t[:10] + ("x" if t[10] != "x" else "y") + t[11:],  # public id typo
        lambda t: t.replace("_", "-"),  # wrong separators
        lambda t: t.upper(),  # case changed
        lambda t: " " + t,  # stray space
    ],
)
def test_a_mistyped_or_truncated_token_fails_the_checksum(mutate: object) -> None:
    token = format.build("djpat", format.new_public_id(), format.new_secret())
    assert format.parse(mutate(token)) is None  # type: ignore[operator]


@pytest.mark.parametrize(
    "junk",
    ["", "djpat_", "x" * 100_000, "djpat_é" * 10, "\x00" * 60, None, 42, "$argon2id$v=19$m=8"],
)
def test_parse_never_raises(junk: object) -> None:
    assert format.parse(junk) is None  # type: ignore[arg-type]
