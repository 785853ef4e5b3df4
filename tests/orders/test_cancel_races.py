"""A cancel that meets a worker moving the order on: the cancel follows the order to its new
status instead of failing, and cancel all and the kill switch go on with the other orders."""

from unittest import mock

import pytest

from orders import lifecycle
from orders.models import EventCause, Order
from orders.services import OrderNotCancelable, order_cancel, orders_cancel_all
from tests.factories import OrderFactory
from venues.base import OrdStatus as S

pytestmark = pytest.mark.django_db


def claimed_by_the_router_first(order):
    """lifecycle.transition, as if the router claimed `order` just before the cancel's step."""
    real = lifecycle.transition

    def transition(order_id, **fields):
        if order_id == order.pk and fields.get("to") == S.REJECTED:
            real(order_id, to=S.ROUTING, cause=EventCause.ROUTE, allowed_from={S.RECEIVED})
        return real(order_id, **fields)

    return mock.patch.object(lifecycle, "transition", side_effect=transition)


def test_cancel_all_goes_on_when_the_router_claims_an_order_meanwhile(account):
    received = OrderFactory(account=account, status=S.RECEIVED, client_order_id="claimed")
    working = OrderFactory(account=account, status=S.NEW, client_order_id="resting")

    with claimed_by_the_router_first(received):
        count = orders_cancel_all(account=account)

    assert count == 2
    received.refresh_from_db()
    assert received.status == S.ROUTING and received.cancel_requested_at is not None
    assert Order.objects.get(pk=working.pk).status == S.PENDING_CANCEL


def test_a_cancel_of_an_order_that_finished_meanwhile_says_so(account):
    order = OrderFactory(account=account, status=S.NEW, client_order_id="filled-meanwhile")
    Order.objects.filter(pk=order.pk).update(status=S.FILLED)  # the sync's report came first

    with pytest.raises(OrderNotCancelable, match="is FILLED"):
        order_cancel(order=order)
