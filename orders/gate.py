"""The trading gate: an account may trade only while a full sync has reconciled it lately.

The mark lives in Redis with an expiry, so that every way of losing track closes the gate on its
own: no sync for a while (the mark expires), a worker starting after downtime (marks cleared by
the worker_ready handler in emsweb/celery.py), Redis restarted or flushed (marks gone). The next
successful sync opens it again. Beside it, the lock that keeps two syncs of one account apart.
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
