"""The token's own page, reached from its row: facts, activity, and the notification switches."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.conftest import MakeToken
from tokens_app.models import NotificationSettings, TokenEvent


def test_the_name_leads_to_the_page_with_its_activity(
    signed_in: Page, make_token: MakeToken, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, secret = make_token(name="ci-deploy")
    assert api_status(secret) == 200
    page.reload()
    row = page.locator(f"#token-{token.pk}")
    expect(row).to_contain_text("from 127.0.0.1")
    link = row.get_by_role("link", name="ci-deploy", exact=True)
    link.focus()
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"/tokens/{token.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("ci-deploy")
    expect(page.get_by_text(token.identifier).first).to_be_visible()
    activity = page.get_by_role("table", name="Activity of ci-deploy, newest first")
    rows = activity.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("First use from 127.0.0.1.")
    expect(rows.nth(0)).to_contain_text("The token itself")
    expect(rows.nth(1)).to_contain_text("Created with Full Access.")
    expect(page.get_by_role("link", name="Access Tokens").first).to_have_attribute(
        "aria-current", "page"
    )


def test_regenerating_from_the_page_shows_up_in_its_log(
    signed_in: Page, make_token: MakeToken, js: bool, api_status: Callable[[str], int]
) -> None:
    page = signed_in
    token, old_secret = make_token(name="ci-deploy")
    page.goto(f"/tokens/{token.pk}/")
    page.get_by_role("link", name="Regenerate token ci-deploy", exact=True).click()
    if js:
        form = page.get_by_role("dialog", name="Regenerate “ci-deploy”?")
        expect(form).to_be_visible()
    else:
        expect(page).to_have_url(f"/tokens/{token.pk}/regenerate/")
        form = page.locator("main")
    form.get_by_role("button", name="Regenerate token ci-deploy").click()
    new_secret = page.locator("#new-token").input_value()
    assert new_secret != old_secret
    assert api_status(old_secret) == 401
    assert api_status(new_secret) == 200

    page.goto(f"/tokens/{token.pk}/")
    rows = page.get_by_role("table").locator("tbody tr")
    # Newest first: the new secret's first use, the old secret refused, the regenerate.
    expect(rows.nth(0)).to_contain_text("First use from 127.0.0.1.")
    expect(rows.nth(1)).to_contain_text("1 failed attempt")
    expect(rows.nth(2)).to_contain_text("Regenerated")
    expect(rows.nth(2)).to_contain_text("Owner")
    assert TokenEvent.objects.filter(token=token, kind="regenerated").count() == 1


def test_the_notification_switches_work_from_the_keyboard(signed_in: Page, owner: object) -> None:
    page = signed_in
    page.get_by_role("link", name="Notifications").click()
    expect(page).to_have_url("/settings/notifications/")
    expiry = page.get_by_role("checkbox", name="Expiry reminders")
    expect(expiry).to_be_checked()
    expiry.focus()
    page.keyboard.press("Space")
    expect(expiry).not_to_be_checked()
    page.get_by_role("button", name="Save").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Notification settings saved.")
    expect(page.get_by_role("checkbox", name="Expiry reminders")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="New tokens")).to_be_checked()
    saved = NotificationSettings.objects.get(user=owner)
    assert (saved.expiry_emails, saved.new_token_emails) == (False, True)
