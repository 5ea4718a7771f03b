"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live_server.

Every scenario runs twice, with JavaScript on (htmx, dialogs, the copy button) and
off (plain forms and pages). Without a Chromium the tests are skipped, never failed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import APIRequestContext, BrowserContext, Page, Playwright

HERE = Path(__file__).parent
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the browser tests, skip them without a Chromium, and run them last.

    Playwright's sync API keeps an asyncio loop in the main thread from its first
    use to the end of the session, which would break later tests of async code.
    """
    missing = not os.access(CHROMIUM, os.X_OK)
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium")
    in_browser = [HERE in item.path.parents for item in items]
    for item, browser in zip(items, in_browser, strict=True):
        if browser:
            item.add_marker(pytest.mark.e2e)
            if missing:
                item.add_marker(skip)
    order = sorted(range(len(items)), key=lambda index: in_browser[index])
    items[:] = [items[index] for index in order]


@pytest.fixture(scope="session", autouse=True)
def _sync_orm_beside_playwright() -> Iterator[None]:
    """The ORM calls the tests make between browser steps are plain synchronous code,
    but Django sees Playwright's loop in this thread and would refuse them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def js(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
def context(
    new_context: Callable[..., BrowserContext], live_server: Any, js: bool
) -> BrowserContext:
    context = new_context(
        base_url=live_server.url, java_script_enabled=js, viewport={"width": 1280, "height": 900}
    )
    if js:
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    context.set_default_timeout(5_000)
    return context


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A page that fails its test on any script error or CSP violation it logs."""
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    # A 404 is what some tests provoke on purpose; anything else is a bug.
    assert not [problem for problem in problems if "404" not in problem], problems


@pytest.fixture
def signed_in(page: Page, context: BrowserContext, owner: Any, live_server: Any) -> Page:
    """The owner's browser, logged in through a real session cookie."""
    client = Client()
    client.force_login(owner)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )
    page.goto("/tokens/")
    return page


@pytest.fixture
def api(playwright: Playwright, live_server: Any) -> Iterator[APIRequestContext]:
    """A client with no cookies, as curl would be."""
    context = playwright.request.new_context(base_url=live_server.url)
    yield context
    context.dispose()


@pytest.fixture
def api_status(api: APIRequestContext) -> Callable[[str], int]:
    def status(secret: str) -> int:
        return api.get("/api/v1/user", headers={"Authorization": f"Bearer {secret}"}).status

    return status
