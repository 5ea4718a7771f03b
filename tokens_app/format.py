"""Token strings: generation, parsing and the offline checksum. Pure functions.

A token reads ``<prefix>_<public id>_<secret><checksum>``, for example
``djpat_4f9QzL2mXa7B_<30 secret characters><6 checksum characters>``.

* The public id (12 base62 characters) names the row; it is shown in the UI.
* The secret is 30 base62 characters from ``secrets``: log2(62) * 30 ≈ 178 bits.
* The checksum is the CRC32 of everything before it, in 6 base62 characters,
  the scheme GitHub and npm use: a typo or truncation is refused without a
  database query, and secret scanners can validate a match offline.

Only ``[A-Za-z0-9_]`` appears, so a double-click selects the whole token.
"""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PUBLIC_ID_LENGTH = 12
SECRET_LENGTH = 30
CHECKSUM_LENGTH = 6
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_]{1,20}")
# Longest prefix + separators + body: anything longer is refused before any parsing.
MAX_TOKEN_LENGTH = 20 + 2 + PUBLIC_ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH
_BODY = re.compile(
    rf"(?P<prefix>[A-Za-z0-9_]{{1,20}})_(?P<public_id>[A-Za-z0-9]{{{PUBLIC_ID_LENGTH}}})"
    rf"_(?P<secret>[A-Za-z0-9]{{{SECRET_LENGTH}}})(?P<checksum>[A-Za-z0-9]{{{CHECKSUM_LENGTH}}})"
)


@dataclass(frozen=True, slots=True)
class ParsedToken:
    prefix: str
    public_id: str
    secret: str

    @property
    def identifier(self) -> str:
        return identifier(self.prefix, self.public_id)


def random_base62(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def checksum(body: str) -> str:
    return base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def identifier(prefix: str, public_id: str) -> str:
    return f"{prefix}_{public_id}"


def new_public_id() -> str:
    return random_base62(PUBLIC_ID_LENGTH)


def new_secret() -> str:
    return random_base62(SECRET_LENGTH)


class Plaintext(str):
    """A whole token as issued: the string itself wherever it is used, masked in any repr.

    Error reports, ``%r`` in log messages (Django's template engine logs whole
    contexts at DEBUG level) and debuggers print reprs, so this keeps the
    secret out of them even when a view's context or a frame holds it.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{self.rpartition('_')[0]}_********'"


def build(prefix: str, public_id: str, secret: str) -> Plaintext:
    body = f"{identifier(prefix, public_id)}_{secret}"
    return Plaintext(body + checksum(body))


def parse(value: str) -> ParsedToken | None:
    """Return the parts of a well-formed token whose checksum holds, else None.

    Never raises, whatever the input: it is fed straight from request headers.
    """
    if not isinstance(value, str) or len(value) > MAX_TOKEN_LENGTH:
        return None
    match = _BODY.fullmatch(value)
    if match is None:
        return None
    if not secrets.compare_digest(checksum(value[:-CHECKSUM_LENGTH]), match["checksum"]):
        return None
    return ParsedToken(match["prefix"], match["public_id"], match["secret"])
