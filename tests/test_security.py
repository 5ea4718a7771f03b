"""Security posture: CSP with nonces, headers, production settings, and secrets that never leak."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.contrib.sessions.models import Session
from django.core.signals import got_request_exception
from django.db import DatabaseError, connection
from django.test import Client
from django.views.debug import ExceptionReporter

from tests.conftest import MakeToken, bearer, create_form_data, shown_secret
from tokens_app import format
from tokens_app.models import AccessToken

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
API = "/api/v1/user"


class PageAudit(HTMLParser):
    """Collects everything a strict CSP would block or that could smuggle script in."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_scripts: list[str] = []
        self.style_elements = 0
        self.style_attributes: list[str] = []
        self.handlers: list[str] = []
        self.js_urls: list[str] = []
        self.meta: dict[str, str] = {}
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named)
            self._in_script = "src" not in named
        if tag == "style":
            self.style_elements += 1
        if tag == "meta" and named.get("name"):
            self.meta[named["name"] or ""] = named.get("content") or ""
        for name, value in attrs:
            if name == "style":
                self.style_attributes.append(tag)
            if name.startswith("on"):
                self.handlers.append(f"{tag}[{name}]")
            if name in {"href", "src", "action", "formaction"} and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.js_urls.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data.strip()[:80])


def audit(body: bytes) -> PageAudit:
    parser = PageAudit()
    parser.feed(body.decode())
    return parser


def csp_nonce(response: Any) -> str:
    policy = response["Content-Security-Policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    nonce = next(p for p in script_src.split() if p.startswith("'nonce-"))
    return nonce.removeprefix("'nonce-").rstrip("'")


@pytest.fixture
def pages(owner_client: Client, make_token: MakeToken) -> dict[str, Any]:
    """Every page a person sees, in each of its states."""
    token, _ = make_token()
    htmx = {"headers": {"HX-Request": "true"}}
    anonymous = Client()
    created = owner_client.post("/tokens/new/", create_form_data(owner_client, name="fresh"))
    return {
        "login": anonymous.get("/accounts/login/"),
        "list": owner_client.get("/tokens/"),
        "new": owner_client.get("/tokens/new/"),
        "new with errors": owner_client.post("/tokens/new/", {"name": ""}),
        "secret shown": created,
        "edit": owner_client.get(f"/tokens/{token.pk}/edit/"),
        "edit partial": owner_client.get(f"/tokens/{token.pk}/edit/", **htmx),
        "regenerate": owner_client.get(f"/tokens/{token.pk}/regenerate/"),
        "delete": owner_client.get(f"/tokens/{token.pk}/delete/"),
    }


def test_every_page_sends_a_strict_csp_with_a_fresh_nonce(pages: dict[str, Any]) -> None:
    nonces = set()
    for name, response in pages.items():
        assert response.status_code == 200, name
        policy = response["Content-Security-Policy"]
        directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
        assert directives["default-src"] == ["'self'"], name
        assert directives["style-src"] == ["'self'"], name
        assert directives["frame-ancestors"] == ["'none'"], name
        assert directives["object-src"] == ["'none'"], name
        assert directives["base-uri"] == ["'none'"], name
        assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, name
        if "partial" not in name:
            nonces.add(csp_nonce(response))
    assert len(nonces) == len([name for name in pages if "partial" not in name])


def test_no_page_has_inline_script_style_or_event_handlers(pages: dict[str, Any]) -> None:
    for name, response in pages.items():
        page = audit(response.content)
        assert page.inline_scripts == [], name
        assert page.style_elements == 0, name
        assert page.style_attributes == [], name
        assert page.handlers == [], name
        assert page.js_urls == [], name


def test_every_script_is_a_same_origin_file_carrying_the_pages_nonce(
    pages: dict[str, Any],
) -> None:
    for name, response in pages.items():
        scripts = audit(response.content).scripts
        if name == "edit partial":
            assert scripts == []
            continue
        assert scripts, name
        for script in scripts:
            src = script.get("src") or ""
            assert src.startswith("/static/"), (name, src)
            assert script.get("nonce") == csp_nonce(response), (name, src)


def test_htmx_is_configured_for_the_csp(owner_client: Client) -> None:
    page = audit(owner_client.get("/tokens/").content)
    config = json.loads(page.meta["htmx-config"])
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["allowScriptTags"] is False
    assert any("htmx" in (s.get("src") or "") for s in page.scripts)


def test_the_site_css_and_app_js_need_no_inline_help() -> None:
    script = (ROOT / "tokens_app/static/tokens_app/tokens.js").read_text()
    assert "eval(" not in script
    assert "new Function" not in script
    assert ".innerHTML" not in script
    assert ".style." not in script


def test_pages_cannot_be_framed_and_send_strict_headers(pages: dict[str, Any]) -> None:
    for name, response in pages.items():
        assert response["X-Frame-Options"] == "DENY", name
        assert response["Referrer-Policy"] in {"no-referrer", "same-origin"}, name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name


def test_the_api_is_not_frameable_either(client: Client, make_token: MakeToken) -> None:
    _, secret = make_token()
    response = client.get(API, **bearer(secret))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


# -- production settings -------------------------------------------------------


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="tokens.example.com,testserver",
        DJANGO_SETTINGS_MODULE="config.settings",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        SECURE_HSTS_PRELOAD="1",
        **extra,
    )
    return env


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


PRODUCTION_PROBE = """
import json, django
django.setup()
from django.core.management import call_command
from django.contrib.auth import get_user_model
from django.test import Client
call_command("migrate", verbosity=0)
get_user_model().objects.create_user("probe", password="probe-password-123")
client = Client()
plain = client.get("/accounts/login/")
secure = Client()
page = secure.get("/accounts/login/", secure=True)
logged_in = secure.post(
    "/accounts/login/",
    {"username": "probe", "password": "probe-password-123",
     "csrfmiddlewaretoken": page.cookies["csrftoken"].value},
    secure=True,
)
def flags(morsel):
    return {"secure": bool(morsel["secure"]), "httponly": bool(morsel["httponly"]),
            "samesite": morsel["samesite"]}
print(json.dumps({
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "hsts": page.get("Strict-Transport-Security", ""),
    "login_status": logged_in.status_code,
    "cookies": {name: flags(m) for name, m in {**page.cookies, **logged_in.cookies}.items()},
}))
"""


def test_production_cookies_are_secure_and_http_only_and_https_is_enforced() -> None:
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", PRODUCTION_PROBE],
        cwd=ROOT,
        env=production_env(DATABASE_URL="sqlite:///:memory:"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["plain_status"] == 301
    assert probe["plain_location"].startswith("https://")
    assert "max-age=31536000" in probe["hsts"]
    assert "includeSubDomains" in probe["hsts"]
    assert probe["login_status"] == 302
    assert set(probe["cookies"]) == {"csrftoken", "sessionid"}
    for name, cookie in probe["cookies"].items():
        assert cookie["secure"], name
        assert cookie["httponly"], name
        assert cookie["samesite"] == "Lax", name


# -- secrets never leak -------------------------------------------------------------


@pytest.fixture
def issued_secrets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every secret part generated during the test, so we know exactly what must not leak."""
    made: list[str] = []
    real = format.new_secret

    def recording() -> str:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(format, "new_secret", recording)
    return made


def assert_nowhere(text: str, values: list[str]) -> None:
    for value in values:
        assert value not in text


def test_no_log_line_at_debug_level_holds_a_secret(
    owner_client: Client,
    make_token: MakeToken,
    issued_secrets: list[str],
    caplog: pytest.LogCaptureFixture,
    settings: Any,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")
    connection.force_debug_cursor = True  # log every SQL statement with its parameters
    try:
        created = owner_client.post("/tokens/new/", create_form_data(owner_client))
        first = shown_secret(created.content)
        assert first
        token = AccessToken.objects.get()
        api = Client()
        assert api.get(API, **bearer(first)).status_code == 200
        regenerated = owner_client.post(
            f"/tokens/{token.pk}/regenerate/", {"generation": "1", "expiration": "30"}
        )
        second = shown_secret(regenerated.content)
        assert second and second != first
        _, no_access = make_token(full_access=False, name="none")
        _, expired = make_token(state="expired", name="old")
        deleted_token, deleted = make_token(name="gone")
        deleted_token.revoke()
        failures = [
            api.get(API, **bearer(first)),  # regenerated away
            api.get(API, **bearer(expired)),
            api.get(API, **bearer(deleted)),
            api.get(API, **bearer(no_access)),
            api.get(API, **bearer(second[:-1])),  # wrong length
            api.get(API, **bearer(second[:-1] + ("B" if second[-1] == "A" else "A"))),
            api.get(API, **bearer(format.build(token.prefix, token.public_id, "x" * 30))),
            api.get(API, HTTP_AUTHORIZATION=f"Bearer {second} {second}"),
            api.get(API, HTTP_AUTHORIZATION=f"Token {second}"),
        ]
        assert [r.status_code for r in failures] == [401, 401, 401, 403] + [401] * 5
        records = "".join(repr(r.__dict__) for r in caplog.records)
        # A client that puts the token in the URL is refused; the log line names only the path.
        assert api.get(API, {"access_token": second}).status_code == 401
    finally:
        connection.force_debug_cursor = False
    assert any(r.name == "django.db.backends" for r in caplog.records)
    assert any(r.name == "django.request" for r in caplog.records)
    text = caplog.text + records
    values = [first, second, no_access, expired, deleted, *issued_secrets]
    assert_nowhere(text, values)


def test_the_secret_is_not_kept_in_the_session_cookies_or_messages(
    owner_client: Client, issued_secrets: list[str]
) -> None:
    data = create_form_data(owner_client)
    created = owner_client.post("/tokens/new/", data)
    secret = shown_secret(created.content)
    assert secret
    again = owner_client.post("/tokens/new/", data)  # a double submit puts a message in storage
    assert again.status_code == 302
    stored = [repr(s.get_decoded()) for s in Session.objects.all()]
    cookies = [m.OutputString() for r in (created, again) for m in r.cookies.values()]
    messages = [str(m) for m in get_messages(again.wsgi_request)]
    assert messages
    assert_nowhere(" ".join(stored + cookies + messages), [secret, *issued_secrets])
    assert "no-store" in created["Cache-Control"]


def test_the_secret_is_never_in_a_url_a_redirect_or_a_link(
    owner_client: Client, issued_secrets: list[str]
) -> None:
    created = owner_client.post("/tokens/new/", create_form_data(owner_client), follow=True)
    secret = shown_secret(created.content)
    assert secret
    assert created.redirect_chain == []  # the page holding it is the POST's own response
    token = AccessToken.objects.get()
    regenerated = owner_client.post(
        f"/tokens/{token.pk}/regenerate/", {"generation": "1", "expiration": "30"}, follow=True
    )
    assert regenerated.redirect_chain == []
    for response in (created, regenerated):
        assert_nowhere(json.dumps(dict(response.headers)), [secret, *issued_secrets])
        assert response["Referrer-Policy"] in {"no-referrer", "same-origin"}
        page = response.content.decode()
        for attribute in ("href", "src", "action"):
            for value in page.split(f'{attribute}="')[1:]:
                url = value.split('"', 1)[0]
                assert_nowhere(url, issued_secrets)
                assert not url.startswith(("http://", "https://", "//")), url


# -- error reports -------------------------------------------------------------------


@pytest.fixture
def error_reports(settings: Any) -> list[str]:
    """The text and HTML of the report Django would mail to ADMINS for each uncaught error."""
    settings.DEBUG = False
    reports: list[str] = []

    def capture(sender: Any, request: Any = None, **kwargs: Any) -> None:
        reporter = ExceptionReporter(request, *sys.exc_info(), is_email=True)
        reports.append(reporter.get_traceback_text() + reporter.get_traceback_html())

    got_request_exception.connect(capture)
    yield reports
    got_request_exception.disconnect(capture)


def boom(*args: Any, **kwargs: Any) -> Any:
    raise DatabaseError("simulated failure")


@pytest.mark.parametrize(
    "target",
    [
        "tokens_app.models.AccessToken.record_use",
        "tokens_app.hashing.VerifiedSecrets.remember",
        "argon2.PasswordHasher.verify",
        "tokens_app.auth.find_token",
    ],
)
def test_an_error_during_token_auth_leaves_the_secret_out_of_the_report(
    make_token: MakeToken,
    error_reports: list[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    _, secret = make_token()
    monkeypatch.setattr(target, boom)
    response = Client(raise_request_exception=False).get(API, **bearer(secret))
    assert response.status_code == 500
    assert error_reports
    for report in error_reports:
        assert "simulated failure" in report
        assert_nowhere(report, [secret, secret.split("_")[-1][:30]])


@pytest.mark.parametrize(
    "target", ["tokens_app.views.add_never_cache_headers", "argon2.PasswordHasher.hash"]
)
@pytest.mark.parametrize("action", ["create", "regenerate"])
def test_an_error_while_issuing_a_secret_leaves_it_out_of_the_report(
    owner: Any,
    make_token: MakeToken,
    error_reports: list[str],
    issued_secrets: list[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    action: str,
) -> None:
    token, _ = make_token()
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    data = create_form_data(client)
    issued_secrets.clear()
    monkeypatch.setattr(target, boom)
    if action == "create":
        response = client.post("/tokens/new/", data)
    else:
        response = client.post(
            f"/tokens/{token.pk}/regenerate/", {"generation": "1", "expiration": "30"}
        )
    assert response.status_code == 500
    assert len(error_reports) == 1
    assert issued_secrets
    assert "simulated failure" in error_reports[0]
    assert_nowhere(error_reports[0], issued_secrets)
