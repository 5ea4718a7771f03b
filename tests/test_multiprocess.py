"""Revocation is immediate across worker processes: gunicorn with 2 workers on loopback.

Each worker keeps its own memory of verified secrets. The test warms that memory
in both workers, changes the token from a separate process (regenerate, edit,
delete), and then proves from gunicorn's access log (which names the worker pid)
that every worker refuses the old state on its very next request.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("gunicorn")

ROOT = Path(__file__).resolve().parent.parent
PORTS = range(8500, 8600)
MAX_ROUNDS = 60


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8500-8599")


@dataclass
class Site:
    env: dict[str, str]
    url: str
    log: Path

    def django(self, code: str) -> dict[str, object]:
        """Run ORM code in a separate process; it prints one JSON object."""
        script = "import django, json\ndjango.setup()\n" + textwrap.dedent(code)
        result = subprocess.run(  # noqa: S603 (our own interpreter and script)
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def get(self, secret: str) -> int:
        request = urllib.request.Request(  # noqa: S310 (a loopback http URL we built)
            self.url, headers={"Authorization": f"Bearer {secret}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    def log_lines(self) -> list[tuple[str, int]]:
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [(pid, int(status)) for pid, status in (line.split() for line in lines)]

    def round_until_both_workers_answer(self, secret: str) -> list[tuple[str, int]]:
        """Send pairs of concurrent requests until two distinct workers have answered.

        Returns every (worker pid, status) logged during this round.
        """
        start = len(self.log_lines())
        sent = 0
        with ThreadPoolExecutor(max_workers=2) as pool:
            for _ in range(MAX_ROUNDS):
                list(pool.map(self.get, [secret, secret]))
                sent += 2
                deadline = time.monotonic() + 2
                while len(self.log_lines()) - start < sent and time.monotonic() < deadline:
                    time.sleep(0.02)
                seen = self.log_lines()[start:]
                if len({pid for pid, _ in seen}) >= 2:
                    return seen
        raise AssertionError(f"only one worker answered {sent} requests")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("multiprocess")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{base / 'db.sqlite3'}",
        "DEBUG": "false",
        "SECRET_KEY": "multiprocess-test-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_LEVEL": "ERROR",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    log = base / "access.log"
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "--workers=2",
            f"--bind=127.0.0.1:{port}",
            f"--access-logfile={log}",
            "--access-logformat=%(p)s %(s)s",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/v1/user"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield Site(env=env, url=url, log=log)
    finally:
        server.terminate()
        server.wait(timeout=30)


ISSUE = """
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from tokens_app.models import AccessToken
user, _ = get_user_model().objects.get_or_create(username="{name}")
token, secret = AccessToken.objects.issue(
    owner=user, name="{name}", permissions=["*"], expires_at=timezone.now() + timedelta(days=7)
)
print(json.dumps({{"pk": token.pk, "secret": secret}}))
"""


def issue(site: Site, name: str) -> tuple[int, str]:
    made = site.django(ISSUE.format(name=name))
    return int(made["pk"]), str(made["secret"])


def warm(site: Site, secret: str) -> None:
    seen = site.round_until_both_workers_answer(secret)
    assert {status for _, status in seen} == {200}


def test_a_regenerated_token_is_refused_by_every_worker_at_once(site: Site) -> None:
    pk, old = issue(site, "regen")
    warm(site, old)
    made = site.django(
        f"""
        from tokens_app.models import AccessToken
        token = AccessToken.objects.get(pk={pk})
        print(json.dumps({{"secret": token.regenerate(expires_at=token.expires_at)}}))
        """
    )
    after = site.round_until_both_workers_answer(old)
    assert {status for _, status in after} == {401}
    warm(site, str(made["secret"]))


def test_an_edit_to_no_access_takes_effect_in_every_worker_at_once(site: Site) -> None:
    pk, secret = issue(site, "edit")
    warm(site, secret)
    site.django(
        f"""
        from tokens_app.models import AccessToken
        AccessToken.objects.get(pk={pk}).update_details(name="edit", permissions=[])
        print(json.dumps({{}}))
        """
    )
    after = site.round_until_both_workers_answer(secret)
    assert {status for _, status in after} == {403}


def test_a_deleted_token_is_refused_by_every_worker_at_once(site: Site) -> None:
    pk, secret = issue(site, "delete")
    warm(site, secret)
    site.django(
        f"""
        from tokens_app.models import AccessToken
        AccessToken.objects.get(pk={pk}).revoke()
        print(json.dumps({{}}))
        """
    )
    after = site.round_until_both_workers_answer(secret)
    assert {status for _, status in after} == {401}
