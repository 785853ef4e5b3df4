"""A desk-wide change counter: bumped after every committed order change, read by the blotter.

A blotter poll carries the counter it last saw; if it has not moved, the answer is "nothing
new" after one Redis GET and no database query. (The stream hears of the change from the
order's write itself: orders.writes.)
"""

from django.db import transaction

from emsweb.redis import redis_client

KEY = "emsweb:order-changes"


def changes_bump() -> None:
    # Robust: a Redis that is down must not fail a write that committed (the blotter then
    # refreshes on its next change).
    transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    redis_client().incr(KEY)


def changes_version() -> int:
    return int(redis_client().get(KEY) or 0)
