"""Sweep: queue routing again for RECEIVED orders whose task was lost."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from emsweb.redis import redis_client
from venues.base import OrdStatus

from ..models import Order
from ..tasks import route_order

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
    orders = list(
        Order.objects.filter(status=S.RECEIVED, created_at__lt=stale).values_list(
            "pk", "created_at"
        )
    )
    with redis_client().pipeline(transaction=False) as pipe:
        for order_id, created_at in orders:
            key = f"emsweb:swept:{order_id}:{created_at.timestamp()}"
            pipe.set(key, 1, nx=True, px=max(int(window * 1000), 1))
        first_in_window = pipe.execute()
    marked = zip(orders, first_in_window, strict=True)
    requeued = [order_id for (order_id, _), first in marked if first]
    for order_id in requeued:
        route_order.delay(order_id)
    if requeued:
        logger.warning("re-queued %s RECEIVED orders whose routing task was lost", len(requeued))
    return len(requeued)
