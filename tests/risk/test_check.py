"""The risk check in order_submit: each limit and trading state refuses with its name, its value
and the attempted figure, writes nothing but an audit entry and a metric, and lets through
what fits."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent, Balance
from emsweb.metrics import RISK_REFUSALS_KEY
from orders import lifecycle
from orders.models import EventCause, Order, OrderOrigin
from orders.services import OrderInvalid, order_cancel, order_submit
from risk.models import RiskUsage
from risk.selectors import risk_usage
from risk.services import trading_halt, trading_state_set
from tests.factories import AccountFactory, InstrumentFactory, OrderFactory
from venues.base import OrdStatus as S

from .conftest import ticket

pytestmark = pytest.mark.django_db


def refused(account, user=None, **fields) -> dict[str, list[str]]:
    """The errors of a submit that must be refused; and that it wrote no order."""
    before = Order.objects.count()
    with pytest.raises(OrderInvalid) as invalid:
        order_submit(account=account, ticket=ticket(**fields), user=user)
    assert Order.objects.count() == before
    return invalid.value.errors


def accepted(account, user=None, **fields) -> Order:
    return order_submit(account=account, ticket=ticket(**fields), user=user)


def working(account, count: int, **fields) -> list[Order]:
    return [OrderFactory(account=account, status=S.NEW, **fields) for _ in range(count)]


def test_without_limits_a_submit_takes_no_lock_and_counts_nothing(account):
    accepted(account)  # the rules read once from the database, then from their copy in Redis
    with CaptureQueriesContext(connection) as queries:
        accepted(account, client_order_id="r-2")
    assert not any("risk_" in query["sql"] for query in queries)
    assert not RiskUsage.objects.exists()


def test_an_order_over_the_max_notional_is_refused_naming_limit_and_figure(account, set_limits):
    set_limits(max_order_notional_usd=Decimal("4000"))
    errors = refused(account, client_order_id="too-big")  # 0.1 BTC at 50,000: 5,000 USD
    assert errors == {
        "amount_order": [
            "Max notional of one order for the desk: 4000 USD; this order is 5000 USD."
        ]
    }
    [entry] = AuditEvent.objects.filter(action="RISK_REFUSED")
    assert entry.target == "too-big"
    assert entry.detail["limits"] == "max_order_notional_usd"
    assert "4000 USD" in entry.detail["message"]
    assert accepted(account, amount="0.08").amount_order == Decimal("0.08")  # 4,000 USD: fits


def test_a_refusal_is_counted_for_the_metrics(account, set_limits, redis_broker):
    redis_broker.delete(RISK_REFUSALS_KEY)
    set_limits(account=account, max_order_notional_usd=Decimal("1"))
    refused(account)
    refused(account, client_order_id="r-2")
    assert redis_broker.hgetall(RISK_REFUSALS_KEY) == {b"account|max_order_notional_usd": b"2"}


def test_a_notional_is_converted_to_usd_at_the_venues_rate(account, set_limits):
    InstrumentFactory(
        symbol_id_exchange="BTCJPY", symbol_id_coinapi="PAPER_SPOT_BTC_JPY", quote="JPY",
        tick_size=Decimal("1"),
    )  # fmt: skip
    set_limits(max_order_notional_usd=Decimal("1000"))
    jpy_order = {"symbol": "BTCJPY", "side": "SELL", "amount": "0.1", "price": "7500000"}
    assert "no USD rate of JPY is known" in refused(account, **jpy_order)["amount_order"][0]
    Balance.objects.create(account=account, asset_id_exchange="JPY", rate_usd=Decimal("0.0066"))
    errors = refused(account, **jpy_order)  # 750,000 JPY at 0.0066: 4,950 USD
    assert errors["amount_order"] == [
        "Max notional of one order for the desk: 1000 USD; this order is 4950 USD."
    ]


def test_max_working_orders_counts_the_accounts_working_orders(account, set_limits):
    set_limits(account=account, max_working_orders=2)
    first, _ = working(account, 2)
    OrderFactory(account=account, status=S.FILLED)  # done: not working
    assert refused(account)["exchange_id"] == [
        "Max working orders for account PAPER/TEST: 2; 2 working already, this order would make 3."
    ]
    lifecycle.transition(first.pk, to=S.CANCELED, cause=EventCause.VENUE, allowed_from={S.NEW})
    assert accepted(account).status == S.RECEIVED


def test_a_limit_lowered_below_usage_refuses_until_usage_falls_back_and_cancels_nothing(
    account, set_limits
):
    orders = working(account, 3)
    set_limits(max_working_orders=1)
    assert "3 working already" in refused(account)["exchange_id"][0]
    assert Order.objects.filter(status=S.NEW).count() == 3, "a lower limit never cancels"
    for order in orders[:2]:
        lifecycle.transition(order.pk, to=S.FILLED, cause=EventCause.VENUE, allowed_from={S.NEW})
    assert "1 working already" in refused(account, client_order_id="r-2")["exchange_id"][0]
    lifecycle.transition(orders[2].pk, to=S.FILLED, cause=EventCause.VENUE, allowed_from={S.NEW})
    assert accepted(account, client_order_id="r-3")


def test_orders_per_second_and_per_minute_count_a_traders_accepted_orders(
    account, trader, set_limits
):
    set_limits(user=trader, max_orders_per_second=2, max_orders_per_minute=3)
    start = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        accepted(account, trader, client_order_id="a")
        accepted(account, trader, client_order_id="b")
        assert refused(account, trader, client_order_id="c")["exchange_id"] == [
            "Max orders per second for trader tess: 2; 2 in the last second already, this "
            "order would make 3."
        ]
        accepted(account, client_order_id="not-tess")  # another trader's (the shell's) order
        clock.shift(1.5)
        accepted(account, trader, client_order_id="d")
        clock.shift(1)
        assert refused(account, trader, client_order_id="e")["exchange_id"] == [
            "Max orders per minute for trader tess: 3; 3 in the last minute already, this "
            "order would make 4."
        ]
        clock.shift(58)  # a and b are more than a minute old
        accepted(account, trader, client_order_id="f")


def test_each_scope_counts_what_the_risk_page_shows_it_using(account, trader, set_limits):
    other = AccountFactory(exchange_id="PAPER/OTHER", tag="OTHER")
    now = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
    for where, status, age, fields in [
        (account, S.NEW, 0.5, {"created_by": trader}),
        (account, S.ROUTING, 2, {"created_by": trader}),
        (account, S.FILLED, 30, {}),
        (account, S.CANCELED, 61, {"created_by": trader}),
        (other, S.PARTIALLY_FILLED, 7200, {"created_by": trader}),
        (other, S.NEW, 10, {"origin": OrderOrigin.EXTERNAL}),  # working, never accepted here
    ]:
        OrderFactory(
            account=where, status=status, created_at=now - timedelta(seconds=age), **fields
        )
    nothing = dict.fromkeys(COUNTED.values(), 0)
    for scope in ({}, {"account": account}, {"user": trader}):
        set_limits(**scope, **nothing)
    with time_machine.travel(now, tick=False):
        figures = refused_figures(refused(account, trader)["exchange_id"])
        page = {
            usage.label: {
                row.name: row.used for row in usage.limits if row.name in COUNTED.values()
            }
            for usage in (risk_usage(), risk_usage(account=account), risk_usage(user=trader))
        }
    assert figures == page
    # working, in the last second, in the last minute
    assert {label: tuple(used.values()) for label, used in page.items()} == {
        "the desk": (4, 1, 3),
        "account PAPER/TEST": (2, 1, 3),
        "trader tess": (3, 1, 2),
    }


COUNTED = {
    "working orders": "max_working_orders",
    "orders per second": "max_orders_per_second",
    "orders per minute": "max_orders_per_minute",
}


def refused_figures(messages: list[str]) -> dict[str, dict[str, int]]:
    """'Max working orders for the desk: 0; 4 working already, …' -> {the desk: {name: 4}}."""
    figures: dict[str, dict[str, int]] = {}
    for message in messages:
        found = re.match(r"Max (.+) for (.+): \d+; (\d+) ", message)
        figures.setdefault(found[2], {})[COUNTED[found[1]]] = int(found[3])
    return figures


def test_the_daily_notional_counts_accepted_orders_until_the_utc_day_ends(account, set_limits):
    set_limits(max_daily_notional_usd=Decimal("12000"))
    with time_machine.travel(datetime(2026, 12, 3, 23, 59, tzinfo=UTC), tick=False) as clock:
        first = accepted(account, client_order_id="a")
        accepted(account, client_order_id="b")
        order_cancel(order=first)  # canceled: it was submitted all the same
        assert refused(account, client_order_id="c")["amount_order"] == [
            "Max notional per UTC day for the desk: 12000 USD; 10000 USD submitted today, "
            "this order of 5000 USD would make 15000 USD."
        ]
        clock.shift(60)  # 00:00 UTC
        accepted(account, client_order_id="d")
    assert dict(RiskUsage.objects.values_list("day", "notional_usd")) == {
        datetime(2026, 12, 3).date(): Decimal("10000"),
        datetime(2026, 12, 4).date(): Decimal("5000"),
    }


def test_a_price_outside_the_band_is_refused_against_the_mid(account, set_limits, quote):
    set_limits(account=account, price_band_percent=Decimal("5"))
    quote(bid="49990", ask="50010")
    assert refused(account, price="53000")["price"] == [
        "Price band for account PAPER/TEST: 5% from the reference price; 53000 is 6.00% from "
        "50000 (mid)."
    ]
    assert accepted(account, price="52400")


def test_without_a_book_the_band_is_measured_from_the_last_price(account, set_limits, quote):
    set_limits(price_band_percent=Decimal("2"))
    quote(bid="", ask="", last="40000")
    assert "from 40000 (last)" in refused(account, price="41000")["price"][0]


def test_the_band_fails_closed_without_a_fresh_reference_price(account, set_limits, quote):
    set_limits(price_band_percent=Decimal("5"), reference_max_age_seconds=10)
    expected = [
        "Price band of 5% for the desk: no reference price of PAPER_SPOT_BTC_USD fresher than "
        "10 s, so the band cannot be checked and the order is refused."
    ]
    assert refused(account)["price"] == expected  # no quote at all
    quote(read_at=datetime.now(UTC) - timedelta(seconds=11))
    assert refused(account)["price"] == expected
    quote()
    assert accepted(account)


def test_allowed_and_denied_instruments_name_the_instrument(account, set_limits):
    InstrumentFactory(
        symbol_id_exchange="ETHUSD", symbol_id_coinapi="PAPER_SPOT_ETH_USD", base="ETH",
    )  # fmt: skip
    set_limits(allowed_instruments="ETH/USD")
    assert refused(account)["symbol_id_exchange"] == [
        "Allowed instruments for the desk: ETH/USD; BTC/USD (PAPER_SPOT_BTC_USD) is not one "
        "of them."
    ]
    set_limits(allowed_instruments="", denied_instruments="paper_spot_btc_usd")
    assert refused(account)["symbol_id_exchange"] == [
        "Denied instruments for the desk: PAPER_SPOT_BTC_USD; BTC/USD (PAPER_SPOT_BTC_USD) is "
        "denied."
    ]


def test_an_instrument_list_naming_no_instrument_is_refused(account, set_limits):
    with pytest.raises(ValidationError) as invalid:
        set_limits(denied_instruments="BTC/USD, DOGE/USDT")
    assert invalid.value.message_dict == {
        "denied_instruments": [
            "No instrument DOGE/USDT: name each as PAPER_SPOT_BTC_USD or BTC/USD."
        ]
    }


def test_every_scope_whose_limit_is_broken_is_named(account, trader, set_limits):
    set_limits(max_order_notional_usd=Decimal("4000"))
    set_limits(account=account, max_order_notional_usd=Decimal("10000"))
    set_limits(user=trader, max_order_notional_usd=Decimal("3000"))
    messages = refused(account, trader)["amount_order"]
    assert [message.split(":")[0] for message in messages] == [
        "Max notional of one order for the desk",
        "Max notional of one order for trader tess",
    ]


def test_a_halted_account_refuses_new_orders_and_still_cancels(account, desk_admin):
    order = accepted(account)
    trading_halt(accounts=[account], user=desk_admin)
    assert refused(account, client_order_id="r-2") == {
        "exchange_id": [
            "Trading is halted on account PAPER/TEST: no new orders until a desk admin resumes it."
        ]
    }
    assert order_cancel(order=order).status == S.REJECTED  # canceled before it was routed


def test_a_halted_desk_refuses_on_every_account(account, desk_admin):
    trading_halt(user=desk_admin)
    assert refused(account)["exchange_id"] == [
        "Trading is halted on the desk: no new orders until a desk admin resumes it."
    ]


def test_reducing_on_spot_takes_sell_orders_only(account, desk_admin):
    trading_state_set(state="REDUCING", account=account, user=desk_admin)
    assert refused(account) == {
        "side": [
            "Trading on account PAPER/TEST is reducing only: SELL orders only, this one is BUY."
        ]
    }
    assert accepted(account, side="SELL").side == "SELL"
