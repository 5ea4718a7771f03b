"""Background work: the token emails, through Django's task framework.

Arguments are ids, so they survive any backend's JSON. Every task is enqueued
on commit: a rolled-back change sends nothing, and a worker never looks for a
row that is not there yet. The immediate backend (the default) runs them in
the request; the README says how to move them to a worker.
"""

from __future__ import annotations

from django.db import transaction
from django.tasks import task

from tokens_app import notifications


@task
def send_new_token_email(event_id: int) -> bool:
    return notifications.send_new_token_email(event_id)


@task
def send_new_address_email(event_id: int) -> bool:
    return notifications.send_new_address_email(event_id)


@task
def send_expiry_email(notice_id: int) -> bool:
    return notifications.send_expiry_email(notice_id)


def queue_new_token_email(event_id: int) -> None:
    transaction.on_commit(lambda: send_new_token_email.enqueue(event_id), robust=True)


def queue_new_address_email(event_id: int) -> None:
    transaction.on_commit(lambda: send_new_address_email.enqueue(event_id), robust=True)


def queue_expiry_email(notice_id: int) -> None:
    transaction.on_commit(lambda: send_expiry_email.enqueue(notice_id), robust=True)
