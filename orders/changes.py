"""A desk-wide change counter: bumped after every committed order change, read by the blotter.

A blotter poll carries the counter it last saw; if it has not moved, the answer is "nothing
new" after one Redis GET and no database query. The same call pokes the stream's sequencer
(the order's outbox row is in its write, orders.writes): one Redis round trip for both.
"""

from django.db import transaction

from emsweb.redis import redis_client
from stream.outbox import POKE_CHANNEL

KEY = "emsweb:order-changes"


def changes_bump() -> None:
    # Robust: a Redis that is down must not fail a write that committed (the blotter then
    # refreshes on its next change, the sequencer's timer numbers the event).
    transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    with redis_client().pipeline(transaction=False) as pipe:
        pipe.incr(KEY)
        pipe.publish(POKE_CHANNEL, b"")
        pipe.execute()


def changes_version() -> int:
    return int(redis_client().get(KEY) or 0)
