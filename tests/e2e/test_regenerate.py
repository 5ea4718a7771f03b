"""Regenerate from a dialog (or its page): the old secret dies, the new one works."""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.conftest import MakeToken
from tokens_app.models import AccessToken


def test_regenerate_replaces_the_secret_and_the_expiry(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, old = make_token(name="ci-deploy", expires_in=datetime.timedelta(days=30))
    page.reload()
    row = page.locator(f"#token-{token.pk}")
    if js:
        page.evaluate("window.stillHere = true")
    opener = row.get_by_role("link", name="Regenerate token ci-deploy")
    opener.click()
    if js:
        dialog = page.get_by_role("dialog", name="Regenerate “ci-deploy”?")
        expect(dialog).to_be_visible()
        assert dialog.evaluate("d => d.contains(document.activeElement)")
    else:
        expect(page).to_have_url(f"/tokens/{token.pk}/regenerate/")
        dialog = page.locator("main")
    expect(dialog.get_by_text("will stop working at once")).to_be_visible()
    dialog.get_by_label("Expiration", exact=True).select_option("90")
    dialog.get_by_role("button", name="Regenerate token ci-deploy").click()

    field = page.get_by_label("New access token")
    expect(field).to_be_visible()
    new = field.input_value()
    assert new != old and new.startswith(token.identifier + "_")
    expires = (timezone.now() + datetime.timedelta(days=90)).strftime("%b %-d, %Y")
    expect(page.locator(f"#token-{token.pk}")).to_contain_text(expires)
    expect(page.get_by_role("heading", name="Token “ci-deploy” regenerated")).to_be_visible()
    if js:
        assert page.evaluate("window.stillHere") is True
        expect(page.get_by_role("dialog")).to_have_count(0)
        expect(field).to_be_focused()
    assert api_status(old) == 401
    assert api_status(new) == 200
    after = AccessToken.objects.get(pk=token.pk)
    assert (after.public_id, after.name, after.created_at) == (
        token.public_id,
        token.name,
        token.created_at,
    )


def test_cancel_closes_the_dialog_and_keeps_the_secret(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    _, secret = make_token(name="ci-deploy")
    page.reload()
    opener = page.get_by_role("link", name="Regenerate token ci-deploy")
    opener.click()
    page.get_by_role("link", name="Cancel regenerating token ci-deploy").click()
    expect(page).to_have_url("/tokens/")
    if js:
        expect(page.get_by_role("dialog")).to_have_count(0)
        expect(opener).to_be_focused()
    assert api_status(secret) == 200


def test_a_bad_date_is_explained_where_it_was_entered(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, secret = make_token(name="ci-deploy")
    page.reload()
    page.get_by_role("link", name="Regenerate token ci-deploy").click()
    form = page.locator(f"#regenerate-form-{token.pk}")
    form.get_by_label("Expiration", exact=True).select_option("custom")
    day = form.get_by_label("Custom expiration date")
    too_far = timezone.localdate() + datetime.timedelta(days=400)
    day.fill(too_far.isoformat())
    form.get_by_role("button", name="Regenerate token ci-deploy").click()
    expect(page.get_by_text("Tokens can live at most 366 days")).to_be_visible()
    if js:
        expect(page.get_by_role("dialog", name="Regenerate “ci-deploy”?")).to_be_visible()
        expect(
            page.locator(f"#regenerate-form-{token.pk}").get_by_label("Custom expiration date")
        ).to_be_focused()
    expect(page.get_by_label("New access token")).to_have_count(0)
    assert api_status(secret) == 200


@pytest.mark.parametrize("js", [True], ids=["js"])
def test_a_token_deleted_elsewhere_is_reported_not_ignored(
    signed_in: Page, make_token: MakeToken, js: bool
) -> None:
    page = signed_in
    token, _ = make_token(name="ci-deploy")
    page.reload()
    token.revoke()
    page.get_by_role("link", name="Regenerate token ci-deploy").click()
    page.get_by_role("button", name="Regenerate token ci-deploy").click()
    expect(page.get_by_role("status")).to_contain_text("That token no longer exists")
