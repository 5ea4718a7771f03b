"""A bounded soak: many clients drive the real site through gunicorn on PostgreSQL.

Each client logs in with a session, then for a fixed time creates, uses, edits,
regenerates and deletes its own tokens through the HTML forms, uses them as
bearer tokens against /api/v1/user, and mixes in abuse (garbage tokens, missing
CSRF, ids that are not theirs). Every response is checked against what that
request should get. At the end the database is compared with the clients' own
record: no token lost, none appeared, every name, permission and generation as
last set, every current secret valid and every earlier one dead. Gunicorn's
access log is searched for any secret.

Loopback only, bounded in time. Run it with:

    .venv/bin/python scripts/soak.py --duration 60 --clients 6 --workers 2

It needs PostgreSQL at 127.0.0.1:5432 (user postgres) and creates (drops first)
the database named by --database.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "soak-password-not-secret"  # noqa: S105 (a throwaway account on a throwaway database)
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
GENERATION = re.compile(r'name="generation" value="(\d+)"')
SECRET = re.compile(r'id="new-token"[^>]*\bvalue="([^"]+)"')
ROW = re.compile(r'<tr id="token-(\d+)"')


@dataclass
class Live:
    pk: int
    name: str
    full: bool
    secret: str
    generation: int = 1


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Session:
    """One browser-like client: a cookie jar, no redirect following, fresh connections."""

    def __init__(self, base: str, tally: Tally) -> None:
        self.base = base
        self.tally = tally
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )

    def csrf(self) -> str:
        return next((c.value or "" for c in self.jar if c.name == "csrftoken"), "")

    def send(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        *,
        with_csrf: bool = True,
        cookies: bool = True,
    ) -> tuple[int, dict[str, str], str]:
        body = None
        if form is not None:
            if with_csrf:
                form = {**form, "csrfmiddlewaretoken": self.csrf()}
            body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(  # noqa: S310 (loopback http only)
            self.base + path, data=body, method=method, headers=headers or {}
        )
        opener = self.opener if cookies else urllib.request.build_opener()
        try:
            with opener.open(request, timeout=60) as response:
                result = response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            result = error.code, dict(error.headers), error.read().decode()
        with self.tally.lock:
            self.tally.requests += 1
            self.tally.statuses[result[0]] += 1
        return result


class Client(threading.Thread):
    def __init__(self, name: str, base: str, deadline: float, tally: Tally, all_pks: set[int]):
        super().__init__(name=name)
        self.username = name
        self.session = Session(base, tally)
        self.deadline = deadline
        self.tally = tally
        self.all_pks = all_pks
        self.live: dict[str, Live] = {}
        self.dead: list[str] = []
        self.rng = random.Random(name)  # noqa: S311 (load shape, not security)
        self.failed: BaseException | None = None

    # -- bookkeeping -------------------------------------------------------------

    def expect(
        self, action: str, status: int, allowed: dict[int, str], headers: dict[str, str]
    ) -> str:
        with self.tally.lock:
            self.tally.actions[action] += 1
            if status in allowed:
                if status >= 400:
                    reason = allowed[status]
                    challenge = headers.get("WWW-Authenticate", "")
                    self.tally.refusals[f"{status} {reason} {challenge}".strip()] += 1
                return allowed[status]
            self.tally.unexpected.append(f"{self.username} {action}: {status}")
        return "unexpected"

    # -- actions -----------------------------------------------------------------

    def login(self) -> None:
        self.session.send("GET", "/accounts/login/")
        status, _, _ = self.session.send(
            "POST", "/accounts/login/", {"username": self.username, "password": PASSWORD}
        )
        assert status == 302, f"login failed with {status}"

    def create(self) -> None:
        _, _, page = self.session.send("GET", "/tokens/new/")
        nonce = NONCE.search(page)
        assert nonce, "no nonce on the create form"
        full = self.rng.random() < 0.8
        name = f"{self.username} token {self.rng.randrange(10**6)}"
        form = {
            "name": name,
            "expiration": "30",
            "permissions": "full" if full else "none",
            "nonce": nonce.group(1),
        }
        status, headers, body = self.session.send("POST", "/tokens/new/", form)
        shown = SECRET.search(body)
        if status == 200 and shown:
            self.expect("create", status, {200: "created"}, headers)
            secret = shown.group(1)
            identifier = secret.rsplit("_", 1)[0]
            pk = self.pk_of(body, identifier)
            self.live[identifier] = Live(pk, name, full, secret)
            with self.tally.lock:
                self.all_pks.add(pk)
            if self.rng.random() < 0.2:  # the impatient double click
                status, headers, _ = self.session.send("POST", "/tokens/new/", form)
                self.expect("double submit", status, {302: "already created"}, headers)
        elif status == 200 and "limit of active tokens" in body:
            self.expect("create", 400, {400: "per-user limit"}, headers)
        else:
            self.expect("create", status, {}, headers)

    def pk_of(self, page: str, identifier: str) -> int:
        for chunk in page.split('<tr id="token-')[1:]:
            if f"<code>{identifier}</code>" in chunk.split("</tr>", 1)[0]:
                return int(chunk.split('"', 1)[0])
        _, _, listing = self.session.send("GET", "/tokens/")
        return self.pk_of(listing, identifier) if listing != page else -1

    def use(self, secret: str, expected: dict[int, str], action: str = "use") -> None:
        status, headers, _ = self.session.send(
            "GET", "/api/v1/user", headers={"Authorization": f"Bearer {secret}"}, cookies=False
        )
        self.expect(action, status, {**expected, 429: "throttled"}, headers)

    def use_live(self) -> None:
        if not self.live:
            return self.create()
        token = self.rng.choice(list(self.live.values()))
        self.use(token.secret, {200: "ok"} if token.full else {403: "insufficient scope"})
        return None

    def edit(self) -> None:
        if not self.live:
            return
        token = self.rng.choice(list(self.live.values()))
        token.name = f"{self.username} renamed {self.rng.randrange(10**6)}"
        token.full = not token.full
        form = {"name": token.name, "permissions": "full" if token.full else "none"}
        status, headers, _ = self.session.send("POST", f"/tokens/{token.pk}/edit/", form)
        self.expect("edit", status, {302: "saved"}, headers)
        self.use(token.secret, {200: "ok"} if token.full else {403: "insufficient scope"})

    def regenerate(self) -> None:
        if not self.live:
            return
        token = self.rng.choice(list(self.live.values()))
        _, _, page = self.session.send("GET", f"/tokens/{token.pk}/regenerate/")
        seen = GENERATION.search(page)
        form = {"generation": seen.group(1) if seen else "0", "expiration": "7"}
        status, headers, body = self.session.send("POST", f"/tokens/{token.pk}/regenerate/", form)
        shown = SECRET.search(body)
        if (
            self.expect("regenerate", status if shown else -1, {200: "regenerated"}, headers)
            != "regenerated"
        ):
            return
        old, token.secret = token.secret, shown.group(1)  # type: ignore[union-attr]
        token.generation += 1
        self.dead.append(old)
        if self.rng.random() < 0.25:  # each wrong secret costs argon2 and throttle budget
            self.use(old, {401: "invalid token"}, "old secret after regenerate")
        self.use(token.secret, {200: "ok"} if token.full else {403: "insufficient scope"})

    def delete(self) -> None:
        if not self.live:
            return
        identifier = self.rng.choice(list(self.live))
        token = self.live.pop(identifier)
        status, headers, _ = self.session.send("POST", f"/tokens/{token.pk}/delete/", {})
        self.expect("delete", status, {302: "deleted"}, headers)
        self.dead.append(token.secret)
        self.use(token.secret, {401: "invalid token"}, "secret after delete")

    def abuse(self) -> None:
        kind = self.rng.choice(
            ["garbage", "no csrf", "missing id", "someone else's id", "get post"]
        )
        if kind == "garbage":
            value = self.rng.choice(["djpat_" + "A" * 48, "Bearer", secrets.token_urlsafe(40)])
            self.use(value, {401: "invalid token"}, "garbage token")
        elif kind == "no csrf" and self.live:
            token = next(iter(self.live.values()))
            form = {"name": "hijacked", "permissions": "none"}
            status, headers, _ = self.session.send(
                "POST", f"/tokens/{token.pk}/edit/", form, with_csrf=False
            )
            self.expect("edit without csrf", status, {403: "csrf"}, headers)
        elif kind == "missing id":
            status, headers, _ = self.session.send("POST", "/tokens/999999999/delete/", {})
            self.expect("delete missing id", status, {404: "not found"}, headers)
        elif kind == "someone else's id":
            mine = {t.pk for t in self.live.values()}
            with self.tally.lock:
                theirs = sorted(self.all_pks - mine)
            if theirs:
                pk = self.rng.choice(theirs)
                status, headers, _ = self.session.send("POST", f"/tokens/{pk}/delete/", {})
                self.expect("delete someone else's", status, {404: "not found"}, headers)
        else:
            status, headers, _ = self.session.send("GET", "/accounts/logout/")
            self.expect("GET on logout", status, {405: "method not allowed"}, headers)

    def run(self) -> None:
        actions = [
            (self.create, 18),
            (self.use_live, 40),
            (self.edit, 14),
            (self.regenerate, 10),
            (self.delete, 10),
            (self.abuse, 8),
        ]
        try:
            self.login()
            while time.monotonic() < self.deadline:
                action = self.rng.choices([a for a, _ in actions], [w for _, w in actions])[0]
                action()
        except BaseException as error:  # reported by the main thread
            self.failed = error


# -- the server and the database ----------------------------------------------------


def environment(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        REDIS_URL=args.redis,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    return env


def fresh_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')


def wait_for(url: str, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 (loopback)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not come up")


def verify(clients: list[Client], access_log: str) -> dict[str, Any]:
    """Compare the database with what each client believes, and search the access log."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from tokens_app.hashing import verify_secret
    from tokens_app.models import AccessToken

    lost, phantom, wrong, secrets_checked = [], [], [], 0
    every_secret: list[str] = []
    for client in clients:
        owner = get_user_model().objects.get(username=client.username)
        rows = {t.identifier: t for t in AccessToken.objects.filter(owner=owner)}
        expected = client.live
        lost += sorted(set(expected) - set(rows))
        phantom += sorted(set(rows) - set(expected))
        for identifier in set(expected) & set(rows):
            mine, row = expected[identifier], rows[identifier]
            facts = (row.pk, row.name, row.has_full_access, row.generation)
            if facts != (mine.pk, mine.name, mine.full, mine.generation):
                logged = (mine.name, mine.full, mine.generation)
                wrong.append(f"{identifier}: database {facts[1:]} vs log {logged}")
            if not verify_secret(row.secret_hash, mine.secret.rsplit("_", 1)[1][:30]):
                wrong.append(f"{identifier}: its current secret does not verify")
            secrets_checked += 1
        for old in client.dead:
            identifier = old.rsplit("_", 1)[0]
            row = rows.get(identifier)
            if row is not None and verify_secret(row.secret_hash, old.rsplit("_", 1)[1][:30]):
                wrong.append(f"{identifier}: an old secret still verifies")
            secrets_checked += 1
        every_secret += [t.secret for t in client.live.values()] + client.dead
    leaked = [s.rsplit("_", 1)[0] for s in every_secret if s.rsplit("_", 1)[1][:30] in access_log]
    return {
        "tokens_in_database": AccessToken.objects.count(),
        "lost": lost,
        "phantom": phantom,
        "mismatched": wrong,
        "secrets_checked": secrets_checked,
        "secrets_in_access_log": leaked,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (max 600)")
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8601)
    parser.add_argument("--database", default="tokens_h6_soak")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "soak")
    args = parser.parse_args()
    duration = min(args.duration, 600)
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment(args)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    fresh_database(args.database)
    python = sys.executable
    migrate = [python, "manage.py", "migrate", "--noinput", "-v0"]
    subprocess.run(migrate, cwd=ROOT, env=env, check=True)  # noqa: S603 (our own manage.py)
    names = [f"soak{n}" for n in range(1, args.clients + 1)]
    create_users = (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        f"for name in {names!r}:\n"
        f"    get_user_model().objects.create_user(name, name + '@example.com', {PASSWORD!r})\n"
    )
    subprocess.run([python, "-c", create_users], cwd=ROOT, env=env, check=True)  # noqa: S603
    flush = ["redis-cli", "-u", args.redis, "flushdb"]  # a clean throttle for a fair run
    subprocess.run(flush, check=True, capture_output=True)  # noqa: S603

    access_log = args.out / "access.log"
    access_log.unlink(missing_ok=True)
    server_log = (args.out / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603 (our own gunicorn on loopback)
        [
            str(Path(python).with_name("gunicorn")),
            "config.wsgi:application",
            f"--workers={args.workers}",
            f"--bind=127.0.0.1:{args.port}",
            f"--access-logfile={access_log}",
            '--access-logformat=%(h)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms',
            f"--error-logfile={args.out / 'error.log'}",
            "--timeout=60",
        ],
        cwd=ROOT,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_for(base + "/accounts/login/")
        tally = Tally()
        all_pks: set[int] = set()
        started = time.monotonic()
        clients = [Client(n, base, started + duration, tally, all_pks) for n in names]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.close()

    result = verify(clients, access_log.read_text())
    errors = (args.out / "error.log").read_text() + (args.out / "server.log").read_text()
    report = {
        "clients": args.clients,
        "workers": args.workers,
        "duration_seconds": round(elapsed, 1),
        "requests": tally.requests,
        "requests_per_second": round(tally.requests / elapsed, 1),
        "statuses": dict(sorted(tally.statuses.items())),
        "server_errors_5xx": sum(n for s, n in tally.statuses.items() if s >= 500),
        "unexpected_responses": tally.unexpected,
        "client_failures": [f"{c.username}: {c.failed!r}" for c in clients if c.failed],
        "actions": dict(tally.actions.most_common()),
        "refusals_by_reason": dict(tally.refusals.most_common()),
        "tracebacks_in_server_log": errors.count("Traceback"),
        **result,
    }
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    failed = (
        report["server_errors_5xx"]
        or report["unexpected_responses"]
        or report["client_failures"]
        or report["tracebacks_in_server_log"]
        or result["lost"]
        or result["phantom"]
        or result["mismatched"]
        or result["secrets_in_access_log"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
