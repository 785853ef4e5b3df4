"""A desk-wide change counter: bumped after every committed order change, read by the blotter.

A blotter poll carries the counter it last saw; if it has not moved, the answer is "nothing
new" after one Redis GET and no database query. The same call wakes the stream's sequencer
(the order's outbox row is in its write, orders.writes): the writer's own pass (stream.passes), or
a poke in the counter's Redis round trip.
"""

from django.db import transaction

from emsweb.redis import redis_client
from stream.outbox import sequencer_wake

KEY = "emsweb:order-changes"


def changes_bump() -> None:
    # Robust: a Redis that is down must not fail a write that committed (the blotter then
    # refreshes on its next change, the sequencer's timer numbers the event).
    transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    with redis_client().pipeline(transaction=False) as pipe:
        pipe.incr(KEY)
        sequencer_wake(pipe)
        pipe.execute()


def changes_version() -> int:
    return int(redis_client().get(KEY) or 0)
