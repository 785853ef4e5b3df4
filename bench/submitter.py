"""A submitter process for the throughput benchmark, standing in for a web process. Importable
before Django is set up (a spawned process imports it first)."""

from __future__ import annotations

import time

QUEUE_LIMIT = 100


def submit_until(
    account_ids: list[int], user_id: int, prefix: str, start_at: float, stop_at: float
) -> None:
    """Submit resting orders round-robin on the accounts, as the user, from `start_at` to
    `stop_at` (epoch seconds), holding back while more than QUEUE_LIMIT routing tasks wait in
    the broker."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from accounts.models import ExchangeAccount
    from emsweb.redis import redis_client

    from . import fixtures

    accounts = list(ExchangeAccount.objects.filter(pk__in=account_ids))
    user = get_user_model().objects.get(pk=user_id)
    client = redis_client()
    time.sleep(max(0.0, start_at - time.time()))
    n = 0
    while time.time() < stop_at:
        if client.llen("orders") > QUEUE_LIMIT:
            time.sleep(0.002)
            continue
        fixtures.submit(accounts[n % len(accounts)], f"{prefix}-{n}", n, user)
        n += 1
