"""The edit, regenerate and delete pages reached directly work with JavaScript on too.

They hold the same forms as the list's inline editor and dialogs, but outside a
table row, so their forms must post as plain forms rather than target a row.
"""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.conftest import MakeToken
from tokens_app.models import AccessToken


def test_the_edit_page_saves(signed_in: Page, make_token: MakeToken, js: bool) -> None:
    page = signed_in
    token, _ = make_token(name="ci-deploy")
    page.goto(f"/tokens/{token.pk}/edit/")
    page.get_by_label("Token Name").fill("renamed on its page")
    page.get_by_role("button", name="Save token ci-deploy").click()
    expect(page).to_have_url("/tokens/")
    expect(page.get_by_role("status")).to_contain_text("Token “renamed on its page” saved.")
    assert AccessToken.objects.get(pk=token.pk).name == "renamed on its page"


def test_the_regenerate_page_shows_the_new_secret(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, old = make_token(name="ci-deploy")
    page.goto(f"/tokens/{token.pk}/regenerate/")
    page.get_by_role("button", name="Regenerate token ci-deploy").click()
    field = page.get_by_label("New access token")
    expect(field).to_be_visible()
    new = field.input_value()
    assert new != old
    assert api_status(old) == 401
    assert api_status(new) == 200


def test_the_delete_page_deletes(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, secret = make_token(name="ci-deploy")
    page.goto(f"/tokens/{token.pk}/delete/")
    page.get_by_role("button", name="Delete token ci-deploy").click()
    expect(page).to_have_url("/tokens/")
    expect(page.get_by_role("status")).to_contain_text("Token “ci-deploy” deleted.")
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert api_status(secret) == 401
