"""Delete from a dialog (or a confirm page): the row goes and the token gets 401."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.conftest import MakeToken
from tokens_app.models import AccessToken


def test_delete_removes_the_row_and_the_token_stops_working(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, secret = make_token(name="ci-deploy")
    page.reload()
    if js:
        page.evaluate("window.stillHere = true")
    page.get_by_role("link", name="Delete token ci-deploy").click()
    if js:
        dialog = page.get_by_role("dialog", name="Delete “ci-deploy”?")
        expect(dialog).to_be_visible()
    else:
        expect(page).to_have_url(f"/tokens/{token.pk}/delete/")
        dialog = page.locator("main")
    expect(dialog.get_by_text("will lose access immediately")).to_be_visible()
    dialog.get_by_role("button", name="Delete token ci-deploy").click()

    expect(page.locator(f"#token-{token.pk}")).to_have_count(0)
    expect(page.get_by_role("status")).to_contain_text("Token “ci-deploy” deleted.")
    expect(page.get_by_text("No access tokens yet")).to_be_visible()
    if js:
        assert page.evaluate("window.stillHere") is True
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert api_status(secret) == 401


def test_the_keyboard_alone_opens_escapes_and_confirms_the_dialog(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, secret = make_token(name="ci-deploy")
    keep, _ = make_token(name="keep-me")
    page.reload()
    opener = page.get_by_role("link", name="Delete token ci-deploy")
    opener.focus()
    page.keyboard.press("Enter")
    if js:
        dialog = page.get_by_role("dialog", name="Delete “ci-deploy”?")
        expect(dialog).to_be_visible()
        # The safe choice has focus, so a stray Enter deletes nothing.
        expect(dialog.get_by_role("link", name="Cancel deleting token ci-deploy")).to_be_focused()
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(opener).to_be_focused()
        page.keyboard.press("Enter")
        expect(dialog).to_be_visible()
    else:
        expect(page).to_have_url(f"/tokens/{token.pk}/delete/")
    confirm = page.get_by_role("button", name="Delete token ci-deploy")
    confirm.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#token-{token.pk}")).to_have_count(0)
    expect(page.locator(f"#token-{keep.pk}")).to_be_visible()
    assert api_status(secret) == 401
