from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from tokens_app.forms import TokenRegenerateForm
from tokens_app.models import AccessToken

register = template.Library()


@register.simple_tag
def regenerate_form_for(token: AccessToken) -> TokenRegenerateForm:
    """A fresh regenerate form for the token's confirm dialog in the list."""
    return TokenRegenerateForm.for_token(token)


@register.filter
def ago(moment: datetime.datetime | None) -> str:
    """ "just now" for the last minute, then Django's "3 hours ago"."""
    if moment is None:
        return ""
    if timezone.now() - moment < datetime.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
