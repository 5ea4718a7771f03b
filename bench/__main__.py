"""``make bench``: GET /api/v1/user under gunicorn, token auth side by side with session auth.

It builds a throwaway database (PostgreSQL next to DATABASE_URL's, named
``<name>_bench``, when DATABASE_URL is set; else SQLite in var/), starts
gunicorn with 2 workers and DEBUG off on 127.0.0.1, and loads it with wrk (or
the bundled Python client when wrk is missing). Every run is bounded in time;
the whole bench takes about two minutes. argon2 uses the app's real, default
parameters, never the cheap test ones.

Environment: BENCH_SECONDS (per run, default 3), BENCH_ROUNDS (runs per case,
taken in turns, default 3), BENCH_PORT (default 8580),
BENCH_ROWS (the big table, default 1,000,000).
"""

from __future__ import annotations

import datetime
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.load import Result, have_wrk, python_load, wrk

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARM_UP_SECONDS = 1
PORT = int(os.environ.get("BENCH_PORT", "8580"))
BIG_TABLE = int(os.environ.get("BENCH_ROWS", "1000000"))
CONNECTIONS = 4
FIRST_USES = 20
URL = f"http://127.0.0.1:{PORT}/api/v1/user"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# -- the throwaway database ------------------------------------------------------


@contextmanager
def bench_database() -> Iterator[str]:
    """A fresh database URL, removed again afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        path = ROOT / "var" / "bench.sqlite3"
        path.parent.mkdir(exist_ok=True)
        for leftover in path.parent.glob("bench.sqlite3*"):
            leftover.unlink()
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in path.parent.glob("bench.sqlite3*"):
                leftover.unlink()
        return
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_bench"
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def server_environment(database_url: str) -> dict[str, str]:
    """Production-like settings that still serve plain HTTP on loopback."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
    }


# -- fixtures, made with the app's own code ----------------------------------------


class Fixtures:
    """A user, a session, a hot token, tokens never used, and a way to grow the table."""

    def __init__(self) -> None:
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.utils import timezone

        from tokens_app.models import FULL_ACCESS, AccessToken

        self.user = get_user_model().objects.create_user("bench", "bench@example.com")
        expires_at = timezone.now() + datetime.timedelta(days=30)
        self.token, self.secret = AccessToken.objects.issue(
            owner=self.user, name="hot", permissions=[FULL_ACCESS], expires_at=expires_at
        )
        client = Client()
        client.force_login(self.user)
        self.session_cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        last = "A" if self.secret[-1] != "A" else "B"
        self.broken = self.secret[:-1] + last

    def unused_tokens(self, count: int) -> tuple[list[str], float]:
        """``count`` tokens never seen by any worker, and one argon2 verify's time in this process.

        They share one secret and hash (one argon2 hash to make, not ``count``),
        but each has its own public id, so each string, keyed digest and
        first-use verify is distinct.
        """
        from tokens_app import format
        from tokens_app.hashing import hash_secret, verify_secret
        from tokens_app.models import AccessToken

        secret = format.new_secret()
        stored = hash_secret(secret)
        rows = [
            AccessToken(
                owner=self.user,
                name=f"first-use-{n}",
                prefix=self.token.prefix,
                public_id=format.new_public_id(),
                secret_hash=stored,
                permissions=self.token.permissions,
                expires_at=self.token.expires_at,
            )
            for n in range(count)
        ]
        AccessToken.objects.bulk_create(rows)
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            assert verify_secret(stored, secret)
            timings.append((time.perf_counter() - started) * 1000)
        return [format.build(row.prefix, row.public_id, secret) for row in rows], statistics.median(
            timings
        )

    def drop_other_tokens(self) -> None:
        from tokens_app.models import AccessToken

        AccessToken.objects.exclude(pk=self.token.pk).delete()

    def grow_table(self, total: int) -> float:
        """Copy the hot row in SQL until the table holds ``total`` rows; return the seconds."""
        from django.db import connection

        from tokens_app.models import AccessToken

        started = time.perf_counter()
        meta = AccessToken._meta
        quote = connection.ops.quote_name
        columns = [field.column for field in meta.concrete_fields if not field.primary_key]
        extra = total - AccessToken.objects.count()
        if connection.vendor == "postgresql":
            public_id = "'b' || lpad(n.x::text, 11, '0')"
            prefix, source = "", "generate_series(1, %s) AS n(x)"
        else:
            public_id = "'b' || substr('00000000000' || n.x, -11, 11)"
            prefix = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < %s) "
            source = "n"
        select = ", ".join(public_id if c == "public_id" else f"t.{quote(c)}" for c in columns)
        # Only quoted column names are formatted in; the numbers are parameters.
        statement = (
            f"{prefix}INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) "  # noqa: S608
            f"SELECT {select} FROM {quote(meta.db_table)} AS t, {source} WHERE t.id = %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, [extra, self.token.pk])
            cursor.execute(
                f"ANALYZE {quote(meta.db_table)}"
                if connection.vendor == "postgresql"
                else "ANALYZE"
            )
        assert AccessToken.objects.count() == total
        return time.perf_counter() - started


# -- the server and the runs --------------------------------------------------------


@contextmanager
def gunicorn(env: dict[str, str]) -> Iterator[None]:
    server = subprocess.Popen(  # noqa: S603 (our own interpreter)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers=2",
            f"--bind=127.0.0.1:{PORT}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", PORT), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def status_of(headers: dict[str, str]) -> int:
    return python_load(URL, lambda n: headers, concurrency=1, total=1).statuses.most_common(1)[0][0]


def one_run(headers: dict[str, str], seconds: int) -> Result:
    if have_wrk():
        return wrk(URL, headers, seconds=seconds, connections=CONNECTIONS)
    return python_load(URL, lambda n: headers, concurrency=CONNECTIONS, seconds=seconds)


def interleaved(cases: dict[str, tuple[dict[str, str], int]]) -> dict[str, Result]:
    """Warm every case up, then run them in turn, ROUNDS times, and pool each case's rounds.

    Taking turns spreads any change in the machine's background load over all
    cases alike; req/s is pooled over the rounds, p50 and p99 are their medians.
    """
    for name, (headers, expected) in cases.items():
        got = int(status_of(headers))
        if got != expected:
            raise SystemExit(f"{name}: expected {expected}, got {got}")
        one_run(headers, WARM_UP_SECONDS)
    rounds: dict[str, list[Result]] = {name: [] for name in cases}
    for number in range(ROUNDS):
        log(f"round {number + 1}/{ROUNDS}: {', '.join(cases)}")
        for name, (headers, _) in cases.items():
            rounds[name].append(one_run(headers, SECONDS))
    return {
        name: Result(
            requests=sum(r.requests for r in results),
            seconds=sum(r.seconds for r in results),
            p50_ms=statistics.median(r.p50_ms for r in results),
            p99_ms=statistics.median(r.p99_ms for r in results),
            statuses=sum((r.statuses for r in results), Counter()),
            tool=results[0].tool,
        )
        for name, results in rounds.items()
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def machine() -> str:
    cpu = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}, Python {platform.python_version()}"


def report(runs: dict[str, Result], notes: dict[str, Any]) -> str:
    lines = [
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- load average (1 min) before / after: {notes['load_before']:.2f} / "
        f"{os.getloadavg()[0]:.2f}",
        f"- database: {notes['database']}; cache: {notes['cache']}",
        f"- server: gunicorn, 2 sync workers, DEBUG off; load: {notes['tool']}, "
        f"{CONNECTIONS} connections; each case warmed up {WARM_UP_SECONDS} s, then {ROUNDS} "
        f"rounds of {SECONDS} s taken in turns with the other cases",
        f"- argon2id: {notes['argon2']}; one verify in-process: {notes['argon2_ms']:.1f} ms",
        f"- big table: {notes['rows']:,} rows, inserted in {notes['fill_seconds']:.1f} s",
        "",
        "| run | requests | req/s | p50 ms | p99 ms | statuses |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, result in runs.items():
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(result.statuses.items()) if v)
        lines.append(
            f"| {name} | {result.requests} | {result.rps:,.0f} | {result.p50_ms:.2f} "
            f"| {result.p99_ms:.2f} | {statuses} |"
        )
    session, anonymous = runs["(b) session cookie"], runs["(a) anonymous"]
    hot, big = runs["(c) bearer, hot, 1 row"], runs[f"(e) bearer, hot, {notes['rows']:,} rows"]
    first = runs["(d) bearer, first use"]
    after = runs["(a) anonymous, after"]
    raw = big.rps / hot.rps
    # Anonymous requests never touch the token table, so their rate measures the machine.
    normalised = (big.rps / after.rps) / (hot.rps / anonymous.rps)
    ratios = [
        ("token/session (req/s)", hot.rps / session.rps, ">= 1.3", hot.rps / session.rps >= 1.3),
        (
            "token/anonymous (req/s)",
            hot.rps / anonymous.rps,
            ">= 0.6",
            hot.rps / anonymous.rps >= 0.6,
        ),
        (f"{notes['rows']:,} rows/1 row (req/s)", raw, "0.90 to 1.10", 0.9 <= raw <= 1.1),
        (
            f"{notes['rows']:,} rows/1 row, each over anonymous at the time",
            normalised,
            "0.90 to 1.10",
            0.9 <= normalised <= 1.1,
        ),
    ]
    extra = first.p50_ms - hot.p50_ms
    lines += ["", "| measure | value | target | met |", "| --- | ---: | --- | --- |"]
    for label, value, target, met in ratios:
        lines.append(f"| {label} | {value:.2f} | {target} | {'yes' if met else 'NO'} |")
    lines.append(
        f"| first use minus hot, p50 | {extra:.1f} ms | about one argon2 verify "
        f"({notes['argon2_ms']:.1f} ms) | {'yes' if extra <= 2 * notes['argon2_ms'] else 'NO'} |"
    )
    return "\n".join(lines)


def main() -> None:
    started = time.monotonic()
    with bench_database() as database_url:
        env = server_environment(database_url)
        log("migrating a fresh database")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        os.environ.update(env)
        import django

        django.setup()
        from django.core.cache import caches
        from django.db import connection

        from tokens_app.conf import policy

        fixtures = Fixtures()
        notes: dict[str, Any] = {
            "database": f"{connection.vendor} {connection.Database.__name__}",
            "cache": type(caches["default"]).__name__,
            "tool": "wrk" if have_wrk() else "bundled Python client",
            "argon2": ", ".join(f"{k}={v}" for k, v in policy().argon2.items()),
            "rows": BIG_TABLE,
            "load_before": os.getloadavg()[0],
        }
        runs: dict[str, Result] = {}
        with gunicorn(env):
            runs |= interleaved(
                {
                    "(a) anonymous": ({}, 401),
                    "(b) session cookie": ({"Cookie": fixtures.session_cookie}, 200),
                    "(c) bearer, hot, 1 row": (bearer(fixtures.secret), 200),
                    "(f) checksum failure": (bearer(fixtures.broken), 401),
                }
            )
            tokens, notes["argon2_ms"] = fixtures.unused_tokens(FIRST_USES)
            log(f"(d) bearer, first use: {len(tokens)} tokens, each sent once, one at a time")
            runs["(d) bearer, first use"] = python_load(
                URL, lambda n: bearer(tokens[n]), concurrency=1, total=len(tokens)
            )
            fixtures.drop_other_tokens()
            log(f"growing the token table to {BIG_TABLE:,} rows")
            notes["fill_seconds"] = fixtures.grow_table(BIG_TABLE)
            runs |= interleaved(
                {
                    "(a) anonymous, after": ({}, 401),
                    f"(e) bearer, hot, {BIG_TABLE:,} rows": (bearer(fixtures.secret), 200),
                }
            )
        connection.close()
    print(report(runs, notes))
    log(f"done in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
