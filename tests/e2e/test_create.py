"""Create a token, copy it, use it; it is never shown again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from tokens_app.models import AccessToken


def log_in(page: Page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Password").fill("pw-owner")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url("/tokens/")


def create(page: Page, name: str) -> str:
    page.get_by_role("link", name="New Access Token").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New Access Token")
    page.get_by_label("Token Name").fill(name)
    page.get_by_label("Full Access").check()
    page.get_by_role("button", name="Create Access Token").click()
    field = page.get_by_label("New access token")
    expect(field).to_be_visible()
    expect(field).to_be_focused()
    expect(page.get_by_text("It will not be shown again")).to_be_visible()
    return field.input_value()


def test_create_copy_and_use_the_token(
    page: Page, owner: Any, js: bool, api_status: Callable[[str], int]
) -> None:
    log_in(page)
    secret = create(page, "ci-deploy")
    token = AccessToken.objects.get(owner=owner)
    assert secret.startswith(token.identifier + "_")
    expect(page.locator(f"#token-{token.pk}")).to_contain_text("ci-deploy")
    copy = page.locator("button[data-copy]")
    if js:
        copy.click()
        expect(copy).to_have_text("Copied")
        expect(page.get_by_role("status")).to_contain_text("copied")
        assert page.evaluate("navigator.clipboard.readText()") == secret
    else:
        # No script, no button that does nothing: the field is read-only text to select.
        expect(copy).to_be_hidden()
        expect(page.get_by_label("New access token")).to_have_attribute("readonly", "")
    assert api_status(secret) == 200


def test_a_reload_after_create_does_not_show_the_secret(
    page: Page, owner: Any, js: bool, api_status: Callable[[str], int]
) -> None:
    log_in(page)
    secret = create(page, "ci-deploy")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access Tokens")
    assert secret not in page.content()
    expect(page.get_by_label("New access token")).to_have_count(0)
    page.goto("/tokens/")
    assert secret not in page.content()
    page.go_back()
    assert secret not in page.content()
    assert AccessToken.objects.filter(owner=owner).count() == 1
    assert api_status(secret) == 200


def test_validation_errors_are_shown_next_to_the_fields(page: Page, owner: Any, js: bool) -> None:
    log_in(page)
    page.goto("/tokens/new/")
    page.get_by_label("Token Name").fill("   ")
    page.get_by_role("button", name="Create Access Token").click()
    expect(page.get_by_text("Enter a name for the token.")).to_be_visible()
    assert not AccessToken.objects.exists()
