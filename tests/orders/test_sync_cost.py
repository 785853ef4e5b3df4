"""A sync cycle reads an account's working orders in one query, however many there are: a
venue report that says what we already know costs nothing more (bench/README.md measured 3
queries per open order before)."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import Order
from orders.services import OrderTicket, order_route, order_submit
from orders.sync import account_sync
from venues.base import OrdStatus
from venues.paper import engine


def account_with_resting_orders(exchange_id: str, count: int):
    account, _ = account_link(exchange_id=exchange_id, parameters={})
    account_sync(account_id=account.pk)  # balances, and the trading gate open
    for n in range(count):
        ticket = OrderTicket(
            client_order_id=f"{exchange_id}-{n}", symbol="BTCUSD", side="BUY",
            amount="0.01", price="40000",
        )  # fmt: skip
        order_route(order_id=order_submit(account=account, ticket=ticket).pk)
    assert set(Order.objects.filter(account=account).values_list("status", flat=True)) == {
        OrdStatus.NEW
    }
    account_sync(account_id=account.pk)
    return account


def queries_of_a_sync(account) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert account_sync(account_id=account.pk)
    return len(queries)


def test_a_sync_over_unchanged_open_orders_costs_the_same_for_3_or_30_of_them(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    few = account_with_resting_orders("PAPER/FEW", 3)
    many = account_with_resting_orders("PAPER/MANY", 30)
    assert queries_of_a_sync(few) == queries_of_a_sync(many)


def test_an_open_report_that_is_news_is_still_applied(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account = account_with_resting_orders("PAPER/NEWS", 2)
    order = Order.objects.filter(account=account).first()
    engine.market_set_mid("BTCUSD", Decimal("39990"))  # the resting BUYs at 40000 now fill
    account_sync(account_id=account.pk)
    order.refresh_from_db()
    assert order.status == OrdStatus.FILLED
    assert order.amount_filled == Decimal("0.01")
