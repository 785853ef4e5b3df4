"""Sweep: queue routing again for RECEIVED orders whose task was lost."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from emsweb.redis import redis_client
from venues.base import OrdStatus

from ..models import Order
from ..tasks import cancel_order, route_order

logger = logging.getLogger(__name__)

S = OrdStatus


def orders_sweep_received() -> int:
    """Queue routing again for RECEIVED orders whose task was lost (a broker restart, say).

    Harmless when the task was not lost: only one worker can claim the order. But an order is
    queued again at most once per EMSWEB_SWEEP_RECEIVED_AFTER: behind a backlog longer than that,
    re-queueing every order on every sweep would grow the backlog faster than workers drain it.
    The marks live in Redis, so a flushed or restarted broker, which lost the tasks, loses them
    too and the orders are queued again at once.
    """
    window = settings.EMSWEB_SWEEP_RECEIVED_AFTER
    stale = timezone.now() - timedelta(seconds=window)
    orders = Order.objects.filter(status=S.RECEIVED, created_at__lt=stale)
    requeued = _queue_once_per_window(orders.values_list("pk", "created_at"), window, route_order)
    if requeued:
        logger.warning("re-queued %s RECEIVED orders whose routing task was lost", requeued)
    return requeued


def orders_sweep_pending_cancels() -> int:
    """Send the cancel again of PENDING_CANCEL orders that have not moved for a while: its task
    was lost (a broker that could not take it), or the venue never answered it. Harmless when
    the first one got through: the venue refuses a second cancel, and the refusal is resolved
    by looking the order up, as any refused cancel is."""
    window = settings.EMSWEB_SWEEP_CANCEL_AFTER
    stale = timezone.now() - timedelta(seconds=window)
    orders = Order.objects.filter(status=S.PENDING_CANCEL, updated_at__lt=stale)
    requeued = _queue_once_per_window(orders.values_list("pk", "updated_at"), window, cancel_order)
    if requeued:
        logger.warning("sent the cancel again of %s PENDING_CANCEL orders", requeued)
    return requeued


def _queue_once_per_window(orders, window: float, task) -> int:
    """Queue `task` for each (order id, moment) at most once per `window` seconds."""
    orders = list(orders)
    with redis_client().pipeline(transaction=False) as pipe:
        for order_id, moment in orders:
            key = f"emsweb:swept:{task.name}:{order_id}:{moment.timestamp()}"
            pipe.set(key, 1, nx=True, px=max(int(window * 1000), 1))
        first_in_window = pipe.execute()
    marked = zip(orders, first_in_window, strict=True)
    requeued = [order_id for (order_id, _), first in marked if first]
    for order_id in requeued:
        task.delay(order_id)
    return len(requeued)
