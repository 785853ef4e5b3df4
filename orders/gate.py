"""The trading gate: an account may trade only while a full sync has reconciled it lately.

The mark lives in Redis with an expiry, so that every way of losing track closes the gate on its
own: no sync for a while (the mark expires), a worker starting after downtime (marks cleared by
the worker_ready handler in emsweb/celery.py), Redis restarted or flushed (marks gone). The next
successful sync opens it again. Beside it, the lock that keeps two syncs of one account apart,
and the one that keeps two records of its positions and balances in order.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from django.conf import settings
from django.utils import timezone

from emsweb.redis import redis_client


def sync_running(*, account_id: int) -> bool:
    """Whether a sync of the account is running now (somebody holds its lock)."""
    return bool(redis_client().exists(f"emsweb:sync-lock:{account_id}"))


@contextmanager
def sync_lock(account_id: int):
    """Held while one sync of the account runs; yields False if another holds it."""
    client = redis_client()
    key = f"emsweb:sync-lock:{account_id}"
    token = uuid.uuid4().hex
    acquired = client.set(key, token, nx=True, ex=settings.EMSWEB_SYNC_LOCK_SECONDS)
    try:
        yield bool(acquired)
    finally:
        if acquired and client.get(key) == token.encode():
            client.delete(key)


# How long a worker waits for another's read of an account's positions and balances.
RECORDS_WAIT_SECONDS = 5


@contextmanager
def records_lock(account_id: int):
    """Held while a worker reads an account's positions and balances from its venue and records
    them (a sync, or the router after a fill), so that two reads are recorded in the order they
    were made. Waits a little for another's; yields False if it could not have it."""
    lock = redis_client().lock(
        f"emsweb:records-lock:{account_id}",
        timeout=settings.EMSWEB_SYNC_LOCK_SECONDS,
        blocking_timeout=RECORDS_WAIT_SECONDS,
    )
    acquired = lock.acquire()
    try:
        yield acquired
    finally:
        if acquired and lock.owned():
            lock.release()


def records_owed(account_id: int) -> None:
    """A read of the account's positions and balances was skipped: the next sync owes one."""
    redis_client().set(f"emsweb:records-owed:{account_id}", 1, ex=settings.EMSWEB_SYNC_LOCK_SECONDS)


def records_owed_take(account_id: int) -> bool:
    """Whether a read was skipped since the last sync took the debt (and take it)."""
    return bool(redis_client().getdel(f"emsweb:records-owed:{account_id}"))


RECONCILED_KEY = "emsweb:reconciled:"


def account_reconciled(*, account_id: int) -> bool:
    return bool(redis_client().exists(f"{RECONCILED_KEY}{account_id}"))


def mark_reconciled(account_id: int) -> None:
    seconds = max(1, round(settings.EMSWEB_RECONCILED_FOR))
    redis_client().set(f"{RECONCILED_KEY}{account_id}", timezone.now().isoformat(), ex=seconds)


def reconciliations_forget() -> int:
    """Close every account's gate: what happened at the venues meanwhile is not known yet."""
    client = redis_client()
    keys = list(client.scan_iter(match=f"{RECONCILED_KEY}*"))
    return client.delete(*keys) if keys else 0
