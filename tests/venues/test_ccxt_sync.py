"""A ccxt venue under emsweb's own services: routing, the sync cycle and its reconciler, with
Kraken's HTTP answered at the requests edge. Nothing above venues/ knows it is Kraken."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Balance
from accounts.services import account_link, balances_record
from orders.instruments import instruments_refresh
from orders.models import Fill, Order, OrderOrigin
from orders.services import OrderTicket, order_route, order_submit
from orders.sync import account_sync
from tests.venues.fake_http import read_timeout
from tests.venues.scripts.kraken import ORDER_ID, TRADE_IDS, Kraken, kraken_order, kraken_trade, ok
from venues.base import OrdStatus, VenueBalance

D = Decimal
S = OrdStatus
pytestmark = pytest.mark.django_db
LONG_ID = "YOUR-UNIQUE-IDENTIFIER-FOR-ORDER-007"  # too long for Kraken's cl_ord_id


@pytest.fixture
def kraken(fake, settings):
    settings.EMSWEB_RECONCILE_AFTER = 0
    script = Kraken()
    script.markets(fake)
    assert instruments_refresh(venue="KRAKEN") == 1
    account, _ = account_link(exchange_id="KRAKEN/DESK", parameters=script.credentials)
    balances_record(
        account=account,
        balances=[VenueBalance("ZUSD", D(100000), D(100000), D(0), asset_common="USD")],
    )
    # A first sync, as after linking: an account trades once it has been reconciled.
    quiet_venue(fake)
    account_sync(account_id=account.pk)
    return account


def quiet_venue(fake, *, open_orders=None, closed=None, trades=None):
    """The reads a sync makes, answered: open orders, closed orders, trades, balances."""
    fake.on("POST", "/0/private/OpenOrders", ok({"open": open_orders or {}}))
    fake.on("POST", "/0/private/ClosedOrders", ok({"closed": closed or {}, "count": 0}))
    fake.on("POST", "/0/private/TradesHistory", ok({"trades": trades or {}, "count": 0}))
    fake.on("POST", "/0/private/BalanceEx", ok({"ZUSD": {"balance": "100000", "hold_trade": "0"}}))


def submit(account, client_order_id=LONG_ID) -> Order:
    ticket = OrderTicket(client_order_id, "KRAKEN_SPOT_BTC_USD", "BUY", "0.01", "50000")
    return order_submit(account=account, ticket=ticket)


def adds(fake):
    return fake.requests_to("/0/private/AddOrder")


def test_an_order_goes_out_with_the_exchange_format_id_recorded_before_sending(kraken, fake):
    order = submit(kraken)
    fake.on("POST", "/0/private/AddOrder", raises=read_timeout)

    order_route(order_id=order.pk)

    order.refresh_from_db()
    [add] = adds(fake)
    assert order.status == S.ROUTING and order.outcome_unknown_at is not None
    assert order.client_order_id_format_exchange == add.form["cl_ord_id"] != LONG_ID


def test_an_unknown_outcome_is_resolved_by_the_sync_without_a_second_create(kraken, fake):
    order = submit(kraken)
    fake.on("POST", "/0/private/AddOrder", raises=read_timeout)
    order_route(order_id=order.pk)
    order.refresh_from_db()
    sent_id = order.client_order_id_format_exchange

    # The exchange did take it: it is in the open list under the id it was sent.
    quiet_venue(fake, open_orders={ORDER_ID: kraken_order(sent_id, "open", "0")})
    assert account_sync(account_id=kraken.pk)

    order.refresh_from_db()
    assert order.status == S.NEW and order.exchange_order_id == ORDER_ID
    assert len(adds(fake)) == 1
    assert not Order.objects.filter(origin=OrderOrigin.EXTERNAL).exists()  # not adopted twice


def test_a_routing_order_absent_from_the_open_list_is_found_by_its_client_order_id(kraken, fake):
    order = submit(kraken)
    fake.on("POST", "/0/private/AddOrder", raises=read_timeout)
    order_route(order_id=order.pk)
    order.refresh_from_db()
    sent_id = order.client_order_id_format_exchange
    quiet_venue(fake, closed={ORDER_ID: kraken_order(sent_id, "closed", "0.01000000")})
    fake.on("POST", "/0/private/QueryTrades", ok({
        TRADE_IDS[0]: kraken_trade(TRADE_IDS[0], "0.004", True),
        TRADE_IDS[1]: kraken_trade(TRADE_IDS[1], "0.006", False),
    }))  # fmt: skip

    account_sync(account_id=kraken.pk)

    order.refresh_from_db()
    assert order.status == S.FILLED and order.amount_filled == D("0.01")
    assert sorted(order.fills.values_list("trade_id", flat=True)) == sorted(TRADE_IDS)
    closed = fake.requests_to("/0/private/ClosedOrders")
    assert closed and closed[-1].form["cl_ord_id"] == sent_id
    assert len(adds(fake)) == 1


def test_not_found_is_not_never_placed_until_enough_lookups_and_time(kraken, fake, settings):
    settings.EMSWEB_NEVER_PLACED_AFTER = 3600
    order = submit(kraken)
    fake.on("POST", "/0/private/AddOrder", raises=read_timeout)
    order_route(order_id=order.pk)
    quiet_venue(fake)
    for _ in range(5):
        account_sync(account_id=kraken.pk)
    order.refresh_from_db()
    assert order.status == S.ROUTING and order.not_found_lookups == 5


def test_trades_are_recorded_once_even_when_the_open_list_already_says_partially_filled(
    kraken, fake
):
    order = submit(kraken, client_order_id="desk-7")
    Kraken().created(fake, client_id="desk-7")
    order_route(order_id=order.pk)
    trade = kraken_trade(TRADE_IDS[0], "0.004", True)
    quiet_venue(
        fake,
        open_orders={ORDER_ID: kraken_order("desk-7", "open", "0.00400000")},
        trades={TRADE_IDS[0]: trade},
    )
    account_sync(account_id=kraken.pk)
    account_sync(account_id=kraken.pk)
    order.refresh_from_db()
    assert order.status == S.PARTIALLY_FILLED and order.amount_filled == D("0.004")
    assert list(Fill.objects.filter(order=order).values_list("trade_id", flat=True)) == [
        TRADE_IDS[0]
    ]


def test_an_order_placed_outside_emsweb_is_adopted_with_its_venue_status(kraken, fake):
    external = kraken_order(None, "open", "0.00400000")
    quiet_venue(fake, open_orders={"OEXTRN-AAAAA-BBBBBB": external})
    account_sync(account_id=kraken.pk)
    adopted = Order.objects.get(origin=OrderOrigin.EXTERNAL)
    assert adopted.client_order_id == "EXT-OEXTRN-AAAAA-BBBBBB"
    assert (adopted.status, adopted.amount_filled) == (S.PARTIALLY_FILLED, D("0.004"))


def test_the_sync_records_balances_with_the_common_asset_id(kraken, fake):
    quiet_venue(fake)
    fake.on("POST", "/0/private/BalanceEx", ok({
        "XXBT": {"balance": "1.5", "hold_trade": "0.5"},
        "ZUSD": {"balance": "1000", "hold_trade": "0"},
    }))  # fmt: skip
    fake.on("GET", "/0/public/Ticker", ok({"XXBTZUSD": {"c": ["50000.1", "1"]}}))
    type(kraken).objects.filter(pk=kraken.pk).update(balances_synced_at=None)  # due
    account_sync(account_id=kraken.pk)
    btc = Balance.objects.get(account=kraken, asset_id_exchange="XXBT")
    assert (btc.asset_id_coinapi, btc.balance, btc.available, btc.rate_usd) == (
        "BTC",
        D("1.5"),
        D("1.0"),
        D("50000.1"),
    )
