"""Edit a token's name and permissions: in place with JavaScript, on its own page without."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.conftest import MakeToken
from tokens_app.models import AccessToken


def test_inline_edit_saves_name_and_permissions(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, secret = make_token(name="ci-deploy", full_access=True)
    page.reload()
    row = page.locator(f"#token-{token.pk}")
    if js:
        page.evaluate("window.stillHere = true")
    row.get_by_role("link", name="Edit token ci-deploy").click()
    if js:
        expect(page).to_have_url("/tokens/")
        expect(row.get_by_label("Token Name")).to_be_focused()
    else:
        expect(page).to_have_url(f"/tokens/{token.pk}/edit/")
    expect(page.get_by_text("To change the expiration")).to_be_visible()
    expect(page.get_by_label("Expiration")).to_have_count(0)

    page.get_by_label("Token Name").fill("   ")
    page.get_by_role("button", name="Save token ci-deploy").click()
    expect(page.get_by_text("Enter a name for the token.")).to_be_visible()
    assert AccessToken.objects.get(pk=token.pk).name == "ci-deploy"

    page.get_by_label("Token Name").fill("release bot")
    page.get_by_label("No Access").check()
    page.get_by_role("button", name="Save token ci-deploy").click()
    expect(page).to_have_url("/tokens/")
    expect(row).to_contain_text("release bot")
    expect(row).to_contain_text("No Access")
    expect(page.get_by_role("status")).to_contain_text("Token “release bot” saved.")
    if js:
        assert page.evaluate("window.stillHere") is True
        expect(row.get_by_role("link", name="Edit token release bot")).to_be_focused()
    saved = AccessToken.objects.get(pk=token.pk)
    assert (saved.name, saved.permissions) == ("release bot", [])
    assert (saved.public_id, saved.expires_at) == (token.public_id, token.expires_at)
    # The secret still authenticates; with No Access it is now refused by the API.
    assert api_status(secret) == 403


def test_cancel_leaves_the_token_as_it_was(
    signed_in: Page, make_token: MakeToken, js: bool
) -> None:
    page = signed_in
    token, _ = make_token(name="ci-deploy")
    page.reload()
    row = page.locator(f"#token-{token.pk}")
    row.get_by_role("link", name="Edit token ci-deploy").click()
    page.get_by_label("Token Name").fill("never saved")
    page.get_by_role("link", name="Cancel editing token ci-deploy").click()
    expect(page).to_have_url("/tokens/")
    expect(row).to_contain_text("ci-deploy")
    expect(row.get_by_label("Token Name")).to_have_count(0)
    if js:
        expect(row.get_by_role("link", name="Edit token ci-deploy")).to_be_focused()
    assert AccessToken.objects.get(pk=token.pk).name == "ci-deploy"
