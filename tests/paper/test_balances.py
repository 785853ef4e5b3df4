import contextlib
from datetime import timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.paper.helpers import ACCOUNT_KEY, holding, intent
from venues.base import OrderRef, OrdSide, TimeInForce, VenueBalance
from venues.errors import Rejected
from venues.paper import engine
from venues.paper.adapter import PaperVenue
from venues.paper.markets import next_quarterly_expiry
from venues.paper.models import PaperAccount, PaperOrder, PaperTrade

pytestmark = pytest.mark.django_db


def test_an_account_is_created_and_funded_on_first_use(venue):
    assert not PaperAccount.objects.exists()

    balances = {balance.asset: balance for balance in venue.balances()}

    assert {asset: balance.balance for asset, balance in balances.items()} == {
        "BTC": 2,
        "ETH": 30,
        "JPY": 1000000,
        "OXT": 10000,
        "USD": 100000,
        "USDT": 100000,
    }
    assert PaperAccount.objects.get().account_key == ACCOUNT_KEY


def test_balances_show_locked_funds_and_usd_rates_from_the_markets(venue):
    venue.submit(intent("SELL", amount="0.5", price="51000"))

    balances = {balance.asset: balance for balance in venue.balances()}

    assert balances["BTC"] == VenueBalance(
        "BTC", Decimal(2), Decimal("1.5"), Decimal("0.5"), Decimal(50000)
    )
    assert {asset: balance.rate_usd for asset, balance in balances.items()} == {
        "BTC": Decimal(50000),
        "ETH": Decimal(3000),
        "JPY": Decimal("0.006666666667"),
        "OXT": Decimal("0.11"),
        "USD": Decimal(1),
        "USDT": Decimal(1),
    }


def test_usd_rates_follow_the_mid():
    engine.market_set_mid("USDJPY", "160")

    assert engine.usd_rates()["JPY"] == Decimal("0.00625")


def test_instruments_describe_every_market(venue):
    specs = {spec.symbol_id_exchange: spec for spec in venue.instruments()}

    expiry = f"{next_quarterly_expiry(timezone.now()):%y%m%d}"
    assert set(specs) == {
        *("BTCUSD", "BTCUSDT-PERP", "ETHUSD", "OXTUSD", "USDJPY", "XBTUSD"),
        *(f"BTCUSDT-{expiry}", f"XBTUSD-{expiry}"),  # the futures
    }
    linear, inverse = specs["BTCUSDT-PERP"], specs["XBTUSD"]
    assert (linear.kind, linear.inverse, linear.settlement_asset) == ("PERPETUAL", False, "USDT")
    assert (inverse.kind, inverse.inverse, inverse.settlement_asset) == ("PERPETUAL", True, "BTC")
    assert inverse.contract_size == 1 and spec_of_spot_is_spot(specs["BTCUSD"])
    oxt = specs["OXTUSD"]
    assert (oxt.base, oxt.quote, oxt.tick_size, oxt.lot_size) == (
        "OXT",
        "USD",
        Decimal("0.00001"),
        Decimal("0.1"),
    )
    assert (oxt.min_amount, oxt.min_notional) == (Decimal(10), Decimal(1))
    assert specs["USDJPY"].min_notional == Decimal(1000)


_accounts = count(1)

submit_step = st.tuples(
    st.just("submit"),
    st.sampled_from([OrdSide.BUY, OrdSide.SELL]),
    st.integers(min_value=-300, max_value=300),  # limit, in ticks of 0.1 from the mid
    st.integers(min_value=1, max_value=15_000),  # amount, in lots of 0.0001
    st.sampled_from(list(TimeInForce)),
)
cancel_step = st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=20))
move_step = st.tuples(st.just("move"), st.integers(min_value=-600, max_value=600))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.one_of(submit_step, cancel_step, move_step), min_size=3, max_size=25))
def test_balances_move_exactly_by_the_fills_and_fees_and_locks_match_open_orders(steps):
    account_key = f"PAPER/H{next(_accounts)}"
    venue = PaperVenue(account_key=account_key)
    engine.account_get(account_key)
    mid = Decimal(50000)
    engine.market_set_mid("BTCUSD", mid)
    sent: list[str] = []

    for step in steps:
        if step[0] == "submit":
            _, side, ticks, lots, time_in_force = step
            order = intent(
                side,
                amount=str(lots * Decimal("0.0001")),
                price=str(mid + ticks * Decimal("0.1")),
                time_in_force=time_in_force,
                expire_time=timezone.now() + timedelta(hours=1),
            )
            with contextlib.suppress(Rejected):
                sent.append(venue.submit(order).client_order_id)
        elif step[0] == "cancel" and sent:
            with contextlib.suppress(Rejected):
                venue.cancel(OrderRef("BTCUSD", client_order_id=sent[step[1] % len(sent)]))
        elif step[0] == "move":
            mid += step[1] * Decimal("0.1")
            engine.market_set_mid("BTCUSD", mid)
        assert_books_balance(account_key)


def assert_books_balance(account_key: str) -> None:
    usd, btc = Decimal(100000), Decimal(2)
    for trade in PaperTrade.objects.filter(order__account__account_key=account_key):
        if trade.order.side == OrdSide.BUY:
            btc += trade.amount
            usd -= trade.price * trade.amount + trade.fee
        else:
            btc -= trade.amount
            usd += trade.price * trade.amount - trade.fee
    open_orders = PaperOrder.objects.filter(
        account__account_key=account_key, status__in=["NEW", "PARTIALLY_FILLED"]
    )
    usd_held, btc_held = holding("USD", account_key), holding("BTC", account_key)
    assert (usd_held.total, btc_held.total) == (usd, btc)
    assert usd_held.locked == sum(o.locked for o in open_orders if o.side == OrdSide.BUY)
    assert btc_held.locked == sum(o.remaining for o in open_orders if o.side == OrdSide.SELL)
    assert usd_held.available >= 0
    assert btc_held.available >= 0
    for order in PaperOrder.objects.filter(account__account_key=account_key):
        assert order.filled == sum(trade.amount for trade in order.trades.all())
        assert order.is_open or order.locked == 0


def spec_of_spot_is_spot(spec) -> bool:
    return (spec.kind, spec.inverse, spec.settlement_asset, spec.expiry) == (
        "SPOT",
        False,
        "",
        None,
    )
