"""What a worker or a twin request doing its part at the same moment must not break: a halt
that lands while an order's account is being reconciled, a retry that waited on the usage lock,
a reference price of 0."""

from decimal import Decimal

import pytest
from django.db.models import QuerySet

from orders.models import Order
from orders.services import OrderInvalid, order_route, order_submit
from orders.services import route as route_module
from orders.sync import account_sync
from risk.services import trading_halt
from tests.risk.conftest import ticket
from venues.base import OrdStatus
from venues.paper.models import PaperRequest

pytestmark = pytest.mark.django_db


def test_a_halt_that_lands_while_routing_reconciles_the_account_stops_the_order(
    account, desk_admin, monkeypatch
):
    order = order_submit(account=account, ticket=ticket("halted-meanwhile"), user=desk_admin)

    def sync_then_halt(*, account_id):
        ran = account_sync(account_id=account_id)
        trading_halt(user=desk_admin, reason="pressed in the admin site")
        return ran

    monkeypatch.setattr(route_module, "account_sync", sync_then_halt)
    order_route(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == OrdStatus.REJECTED and "halted" in order.error_message
    assert not PaperRequest.objects.filter(kind="SUBMIT").exists()


def test_a_retry_that_waited_on_the_usage_lock_gets_its_order_back_not_a_limit(
    account, trader, set_limits, monkeypatch
):
    set_limits(account=account, max_working_orders=1)
    first = order_submit(account=account, ticket=ticket("twin"), user=trader, request_hash="h")
    # The retry's lookup at the top of the submit ran before the first committed: it saw none.
    real_first = QuerySet.first
    lookups = []

    def nothing_the_first_time(queryset):
        lookups.append(queryset)
        return None if len(lookups) == 1 else real_first(queryset)

    monkeypatch.setattr(QuerySet, "first", nothing_the_first_time)
    again = order_submit(account=account, ticket=ticket("twin"), user=trader, request_hash="h")
    assert again.pk == first.pk and Order.objects.count() == 1


@pytest.mark.parametrize(("bid", "ask", "last"), [("0", "0", "0"), ("0", "50010", "0")])
def test_a_reference_price_of_zero_is_no_reference_and_the_band_refuses(
    account, trader, set_limits, quote, bid, ask, last
):
    set_limits(price_band_percent=Decimal("10"))
    quote(bid=bid, ask=ask, last=last)
    with pytest.raises(OrderInvalid) as refused:
        order_submit(account=account, ticket=ticket("zero"), user=trader)
    assert "no reference price" in refused.value.errors["price"][0]
    assert not Order.objects.exists()
