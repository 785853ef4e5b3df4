"""Tell a waiting API request that its order's routing settled, without polling the database.

The worker pushes to a per-order list once routing has an outcome; the request blocks on that
list for at most its timeout. A push that comes first is kept (briefly), so none is missed. The
key names the order by id and creation time, so that a stale key can never answer for another
order that happens to reuse an id (SQLite reuses them after a rollback).
"""

from django.conf import settings

from emsweb.redis import signal_send, signal_wait

from .models import Order

KEEP_SECONDS = 120
# A wait longer than this would tie up a web thread for too long; the order stays tracked.
LONGEST_WAIT = 60.0


def _key(order: Order) -> str:
    return f"emsweb:routed:{order.pk}:{order.created_at.timestamp():.6f}"


def routing_settled(order: Order) -> None:
    signal_send(_key(order), keep_seconds=KEEP_SECONDS)


def routing_wait(order: Order, timeout: float | None = None) -> bool:
    """True once routing settled; False if `timeout` seconds passed first."""
    timeout = settings.EMSWEB_API_ROUTING_WAIT if timeout is None else timeout
    return signal_wait(_key(order), timeout=min(timeout, LONGEST_WAIT))
