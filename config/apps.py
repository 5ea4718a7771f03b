from __future__ import annotations

from django.apps import AppConfig


class DemoSiteConfig(AppConfig):
    """The demo site is an app too, so it can ship its management commands."""

    name = "config"
    label = "demo_site"
    verbose_name = "Demo site"
