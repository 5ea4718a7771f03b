"""Nothing pushes a page wider than the screen, on a desk or a phone, whatever the names."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.conftest import MakeToken


@pytest.mark.parametrize("width", [1280, 390])
def test_busy_pages_fit_the_screen(
    signed_in: Page, make_token: MakeToken, js: bool, width: int
) -> None:
    page = signed_in
    tokens = [
        make_token(name="C" * 63)[0],
        make_token(name="<script>alert(1)</script><img src=x onerror=alert(2)>")[0],
        make_token(name="deploy שלום key", state="expiring")[0],
        make_token(name="release bot", state="expired")[0],
    ]
    longest = tokens[0]
    longest.record_use(ip="2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")
    page.set_viewport_size({"width": width, "height": 900})
    for path in (
        "/tokens/",
        "/tokens/new/",
        f"/tokens/{longest.pk}/",
        f"/tokens/{longest.pk}/edit/",
        f"/tokens/{longest.pk}/regenerate/",
        f"/tokens/{longest.pk}/delete/",
    ):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        assert overflow <= 0, f"{path} is {overflow}px wider than a {width}px screen"
