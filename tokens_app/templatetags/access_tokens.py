from __future__ import annotations

from django import template

from tokens_app.forms import TokenRegenerateForm
from tokens_app.models import AccessToken

register = template.Library()


@register.simple_tag
def regenerate_form_for(token: AccessToken) -> TokenRegenerateForm:
    """A fresh regenerate form for the token's confirm dialog in the list."""
    return TokenRegenerateForm.for_token(token)
