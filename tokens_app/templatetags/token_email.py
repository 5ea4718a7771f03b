"""Filters for the token emails."""

from __future__ import annotations

import unicodedata

from django import template

register = template.Library()

# Controls, format characters (zero-width, bidirectional overrides), line and
# paragraph separators, surrogates, private use and unassigned code points.
_HIDDEN = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}


@register.filter
def plain(value: object) -> str:
    """Show invisible or line-breaking characters as ``\\u....``, so a name cannot fake lines.

    The HTML part escapes markup on top of this; the text part needs only this.
    """
    return "".join(
        f"\\u{ord(ch):04x}" if unicodedata.category(ch) in _HIDDEN else ch for ch in str(value)
    )
