"""Cancel on disconnect: the open CANCEL_ON_DISCONNECT orders of an API key that has had no live
/v1/ws connection for longer than the grace period are canceled, each through order_cancel and
audited. A stream process that closes a connection queues a check for when the grace ends; a
periodic sweep covers the process that died without closing anything (kill -9)."""

from __future__ import annotations

import logging

from django.conf import settings

from accounts.models import ApiKey
from venues.base import OrdStatus

from ..models import Order
from ..presence import presence_absent_for
from ..statuses import WORKING_STATUSES
from ..tasks import cancel_disconnected_orders
from .cancel import OrderNotCancelable, order_cancel

logger = logging.getLogger(__name__)

# Not yet asked to cancel: PENDING_CANCEL is on its way, and an order being routed with a
# cancel requested is canceled as soon as the venue confirms it.
TO_CANCEL = WORKING_STATUSES - {OrdStatus.PENDING_CANCEL}


def orders_on_disconnect(*, api_key_id: int | None = None):
    """The open orders that wait on their key's connection: all keys', or one key's."""
    orders = Order.objects.filter(
        cancel_on_disconnect_key__isnull=False,
        status__in=TO_CANCEL,
        cancel_requested_at__isnull=True,
    )
    if api_key_id is not None:
        orders = orders.filter(cancel_on_disconnect_key_id=api_key_id)
    return orders


def connection_left(*, api_key_id: int) -> None:
    """A connection of the key closed: check its orders once the grace period is over (the
    periodic sweep would too, a few seconds later)."""
    if orders_on_disconnect(api_key_id=api_key_id).exists():
        grace = settings.EMSWEB_CANCEL_ON_DISCONNECT_GRACE
        cancel_disconnected_orders.apply_async(kwargs={"api_key_id": api_key_id}, countdown=grace)


def orders_cancel_disconnected(*, api_key_id: int | None = None, now: float | None = None) -> int:
    """Cancel the CANCEL_ON_DISCONNECT orders of every key (or of one) that has had no live
    connection for longer than EMSWEB_CANCEL_ON_DISCONNECT_GRACE. Returns how many."""
    grace = settings.EMSWEB_CANCEL_ON_DISCONNECT_GRACE
    key_ids = set(
        orders_on_disconnect(api_key_id=api_key_id).values_list(
            "cancel_on_disconnect_key_id", flat=True
        )
    )
    canceled = 0
    for key_id in sorted(key_ids):
        absent = presence_absent_for(api_key_id=key_id, now=now)
        if absent > grace:
            canceled += _cancel_for_key(ApiKey.objects.get(pk=key_id), absent)
    return canceled


def _cancel_for_key(api_key: ApiKey, absent: float) -> int:
    canceled = 0
    reason = f"CANCEL_ON_DISCONNECT: no connection of this key for {absent:.0f} s"
    for order in orders_on_disconnect(api_key_id=api_key.pk).select_related("account"):
        try:
            order_cancel(order=order, api_key=api_key, reason=reason)
        except OrderNotCancelable:
            continue  # it finished meanwhile: nothing left to cancel
        canceled += 1
    if canceled:
        logger.info("canceled %s order(s) of API key #%s on disconnect", canceled, api_key.pk)
    return canceled
