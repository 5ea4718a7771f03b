"""Races through the real HTTP views, each request on its own thread and database connection.

PostgreSQL only: the guarantees rest on row locks (SELECT ... FOR UPDATE) and on
conditional UPDATEs racing across connections, which SQLite cannot show because
it serialises every writer. tests/test_policy.py races the model's limit directly;
these go through the forms a person submits. Revocation across gunicorn workers is
in tests/test_multiprocess.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from django.test import Client

from tests.conftest import FAST_ARGON2, MakeToken, bearer, create_form_data, shown_secret
from tokens_app.models import AccessToken

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers and ignores SELECT ... FOR UPDATE, "
        "so no race can happen. Run with DATABASE_URL=postgres://…",
    ),
]
API = "/api/v1/user"


def race(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run the jobs at the same instant on separate threads (so separate connections)."""
    start = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = jobs[index]()
        except Exception as error:  # surfaced by the callers' assertions
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request hung"
    return results


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_two_simultaneous_regenerates_leave_exactly_one_new_secret_valid(
    owner: Any, make_token: MakeToken
) -> None:
    token, old = make_token()
    assert Client().get(API, **bearer(old)).status_code == 200  # remembered as verified
    clients = [logged_in(owner) for _ in range(2)]
    form = {"generation": str(token.generation), "expiration": "30"}
    url = f"/tokens/{token.pk}/regenerate/"
    responses = race([lambda c=c: c.post(url, form) for c in clients])

    assert [r.status_code for r in responses] == [200, 200]
    shown = [shown_secret(r.content) for r in responses]
    winners = [s for s in shown if s]
    assert len(winners) == 1
    loser = next(r for r, s in zip(responses, shown, strict=True) if not s)
    assert "regenerated elsewhere" in loser.content.decode()
    stored = AccessToken.objects.get()
    assert stored.generation == token.generation + 1
    assert Client().get(API, **bearer(winners[0])).status_code == 200
    assert Client().get(API, **bearer(old)).status_code == 401


def test_many_simultaneous_regenerates_still_have_one_winner(
    owner: Any, make_token: MakeToken
) -> None:
    token, old = make_token()
    form = {"generation": "1", "expiration": "7"}
    url = f"/tokens/{token.pk}/regenerate/"
    clients = [logged_in(owner) for _ in range(6)]
    responses = race([lambda c=c: c.post(url, form) for c in clients])
    winners = [s for s in (shown_secret(r.content) for r in responses) if s]
    assert len(winners) == 1
    assert AccessToken.objects.get().generation == 2
    api = Client()
    assert [api.get(API, **bearer(s)).status_code for s in (old, winners[0])] == [401, 200]


def test_simultaneous_creates_through_the_form_never_pass_the_limit(
    owner: Any, make_token: MakeToken, settings: Any
) -> None:
    settings.ACCESS_TOKENS = {"ARGON2": FAST_ARGON2, "MAX_TOKENS_PER_USER": 4}
    make_token(name="already one")
    make_token(name="already two")
    clients = [logged_in(owner) for _ in range(8)]
    forms = [create_form_data(c, name=f"racer {i}") for i, c in enumerate(clients)]
    responses = race(
        [lambda c=c, f=f: c.post("/tokens/new/", f) for c, f in zip(clients, forms, strict=True)]
    )

    assert all(r.status_code == 200 for r in responses)
    created = [r for r in responses if shown_secret(r.content)]
    refused = [r for r in responses if "limit of active tokens" in r.content.decode()]
    assert (len(created), len(refused)) == (2, 6)
    assert AccessToken.objects.filter(owner=owner).count() == 4


def test_a_double_submitted_create_makes_one_token(owner: Any) -> None:
    clients = [logged_in(owner) for _ in range(3)]
    form = create_form_data(clients[0], name="clicked twice")
    responses = race([lambda c=c: c.post("/tokens/new/", form) for c in clients])

    assert AccessToken.objects.filter(owner=owner).count() == 1
    shown = [r for r in responses if r.status_code == 200 and shown_secret(r.content)]
    assert len(shown) == 1
    others = [r for r in responses if r not in shown]
    assert [r.status_code for r in others] == [302, 302]
    assert all(r["Location"] == "/tokens/" for r in others)
    assert Client().get(API, **bearer(shown_secret(shown[0].content) or "")).status_code == 200


def test_after_a_delete_races_with_requests_every_later_request_gets_401(
    owner: Any, make_token: MakeToken
) -> None:
    token, secret = make_token()
    assert Client().get(API, **bearer(secret)).status_code == 200
    deleted_at: list[float] = []
    outcomes: list[tuple[float, float, int]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def hammer() -> None:
        api = Client()
        while not stop.is_set():
            began = time.monotonic()
            status = api.get(API, **bearer(secret)).status_code
            with lock:
                outcomes.append((began, time.monotonic(), status))

    def delete() -> int:
        time.sleep(0.2)
        status = logged_in(owner).post(f"/tokens/{token.pk}/delete/").status_code
        deleted_at.append(time.monotonic())
        time.sleep(0.3)
        stop.set()
        return status

    results = race([hammer, hammer, hammer, delete])

    assert results[3] == 302
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    statuses = {status for _, _, status in outcomes}
    assert statuses <= {200, 401}, statuses
    later = [status for began, _, status in outcomes if began > deleted_at[0]]
    assert later and set(later) == {401}
    assert any(status == 200 for _, _, status in outcomes)
    assert [Client().get(API, **bearer(secret)).status_code for _ in range(5)] == [401] * 5


def test_an_edit_racing_a_delete_never_resurrects_the_token(
    owner: Any, make_token: MakeToken
) -> None:
    token, secret = make_token()
    edit, delete = logged_in(owner), logged_in(owner)
    responses = race(
        [
            lambda: edit.post(
                f"/tokens/{token.pk}/edit/", {"name": "renamed", "permissions": "full"}
            ),
            lambda: delete.post(f"/tokens/{token.pk}/delete/"),
        ]
    )
    assert responses[1].status_code == 302
    assert responses[0].status_code in {302, 404}
    assert not AccessToken.objects.exists()
    assert Client().get(API, **bearer(secret)).status_code == 401


def test_a_regenerate_racing_a_delete_leaves_nothing_that_authenticates(
    owner: Any, make_token: MakeToken
) -> None:
    token, old = make_token()
    regen, delete = logged_in(owner), logged_in(owner)
    form = {"generation": "1", "expiration": "30"}
    responses = race(
        [
            lambda: regen.post(f"/tokens/{token.pk}/regenerate/", form),
            lambda: delete.post(f"/tokens/{token.pk}/delete/"),
        ]
    )
    assert responses[1].status_code == 302
    assert responses[0].status_code in {200, 404}
    assert not AccessToken.objects.exists()
    candidates = [old]
    if responses[0].status_code == 200:
        new = shown_secret(responses[0].content)
        candidates += [new] if new else []
    api = Client()
    assert [api.get(API, **bearer(s)).status_code for s in candidates] == [401] * len(candidates)


def test_concurrent_users_each_get_only_their_own_tokens(other_user: Any, owner: Any) -> None:
    users = [owner, other_user, get_user_model().objects.create_user("third", password="pw")]
    clients = [logged_in(u) for u in users for _ in range(2)]
    forms = [create_form_data(c, name=f"n{i}") for i, c in enumerate(clients)]
    race([lambda c=c, f=f: c.post("/tokens/new/", f) for c, f in zip(clients, forms, strict=True)])
    for user in users:
        assert AccessToken.objects.filter(owner=user).count() == 2
