from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.paper.helpers import ACCOUNT_KEY, holding, intent
from venues.base import OrderRef, OrdStatus, TimeInForce
from venues.errors import DuplicateClientOrderId, Rejected
from venues.paper import engine
from venues.paper.models import PaperOrder, PaperTrade

pytestmark = pytest.mark.django_db

TAKER = Decimal("0.0026")
MAKER = Decimal("0.0016")


def buy_lock(price: str, amount: str) -> Decimal:
    return Decimal(price) * Decimal(amount) * (1 + TAKER)


def test_a_marketable_buy_sweeps_levels_up_to_its_limit_and_rests_the_remainder(venue):
    order = venue.submit(intent(amount="1.6", price="50025"))

    assert order.status == OrdStatus.PARTIALLY_FILLED
    assert [(fill.price, fill.amount, fill.liquidity) for fill in order.fills] == [
        (Decimal("50010.0"), Decimal("0.5"), "TAKER"),
        (Decimal("50020.0"), Decimal("0.75"), "TAKER"),
    ]
    assert order.amount_filled == Decimal("1.25")
    assert order.avg_px == ((Decimal("25005") + Decimal("37515")) / Decimal("1.25")).quantize(
        Decimal("1e-10")
    )
    assert [fill.fee for fill in order.fills] == [Decimal("65.013"), Decimal("97.539")]
    assert {fill.fee_asset for fill in order.fills} == {"USD"}
    usd, btc = holding("USD"), holding("BTC")
    assert usd.total == Decimal("37317.448")  # 100,000 - 25,005 - 65.013 - 37,515 - 97.539
    assert usd.locked == buy_lock("50025", "0.35")
    assert btc.total == Decimal("3.25")
    assert engine.book("BTCUSD").asks[0].price == Decimal("50030.0")


def test_a_sell_takes_the_bids_down_to_its_limit(venue):
    order = venue.submit(intent("SELL", amount="1", price="49980"))

    assert order.status == OrdStatus.FILLED
    assert [(fill.price, fill.amount) for fill in order.fills] == [
        (Decimal("49990.0"), Decimal("0.5")),
        (Decimal("49980.0"), Decimal("0.5")),
    ]
    proceeds = Decimal("24995") + Decimal("24990")
    assert holding("USD").total == 100000 + proceeds - (proceeds * TAKER).quantize(Decimal("1e-8"))
    assert (holding("BTC").total, holding("BTC").locked) == (1, 0)


def test_a_resting_buy_fills_at_its_limit_when_the_market_crosses_it(venue):
    placed = venue.submit(intent(amount="0.1", price="49000"))
    assert placed.status == OrdStatus.NEW
    assert holding("USD").locked == buy_lock("49000", "0.1")

    engine.market_set_mid("BTCUSD", "48900")

    order = venue.lookup(placed.client_order_id, "BTCUSD")
    assert order.status == OrdStatus.FILLED
    assert [(fill.price, fill.amount, fill.fee, fill.liquidity) for fill in order.fills] == [
        (Decimal(49000), Decimal("0.1"), Decimal("7.84"), "MAKER")
    ]
    usd = holding("USD")
    assert (usd.total, usd.locked) == (Decimal("95092.16"), 0)
    assert holding("BTC").total == Decimal("2.1")


def test_a_resting_sell_fills_when_the_bids_rise_through_it(venue):
    placed = venue.submit(intent("SELL", amount="0.2", price="51000"))
    assert holding("BTC").locked == Decimal("0.2")

    engine.market_set_mid("BTCUSD", 51100)

    assert venue.lookup(placed.client_order_id, "BTCUSD").status == OrdStatus.FILLED
    btc = holding("BTC")
    assert (btc.total, btc.locked) == (Decimal("1.8"), 0)
    assert holding("USD").total == 100000 + 10200 - Decimal("16.32")


def test_a_large_resting_order_fills_over_two_steps(venue):
    placed = venue.submit(intent(amount="1", price="49000"))

    engine.market_set_mid("BTCUSD", "48990")  # only the best ask, 0.5 at 49000, reaches it
    assert venue.lookup(placed.client_order_id, "BTCUSD").amount_filled == Decimal("0.5")
    assert holding("USD").locked == buy_lock("49000", "0.5")

    engine.market_set_mid("BTCUSD", "48990")
    order = venue.lookup(placed.client_order_id, "BTCUSD")
    assert (order.status, order.amount_filled) == (OrdStatus.FILLED, 1)
    assert len(order.fills) == 2
    assert holding("USD").locked == 0


def test_resting_orders_fill_best_price_first_then_oldest_first(venue):
    older = venue.submit(intent(amount="0.4", price="49000"))
    newer = venue.submit(intent(amount="0.4", price="49000"))
    better = venue.submit(intent(amount="0.4", price="49000.1"))

    engine.market_set_mid("BTCUSD", "48990")  # 0.5 at 49000 this step

    filled = {
        name: venue.lookup(order.client_order_id, "BTCUSD").amount_filled
        for name, order in {"older": older, "newer": newer, "better": better}.items()
    }
    assert filled == {"better": Decimal("0.4"), "older": Decimal("0.1"), "newer": 0}


def test_an_immediate_or_cancel_order_fills_what_it_can_and_cancels_the_rest(venue):
    order = venue.submit(
        intent(amount="1", price="50010", time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL)
    )

    assert (order.status, order.amount_filled) == (OrdStatus.CANCELED, Decimal("0.5"))
    assert order.message
    assert holding("USD").locked == 0
    assert holding("BTC").total == Decimal("2.5")


def test_a_fill_or_kill_order_the_book_cannot_fill_is_killed_with_nothing_filled(venue):
    order = venue.submit(intent(amount="1", price="50010", time_in_force=TimeInForce.FILL_OR_KILL))

    assert (order.status, order.amount_filled, order.fills) == (OrdStatus.CANCELED, 0, ())
    usd = holding("USD")
    assert (usd.total, usd.locked) == (100000, 0)
    assert engine.book("BTCUSD").asks[0].size == Decimal("0.5")


def test_a_fill_or_kill_order_the_book_can_fill_is_filled_whole(venue):
    order = venue.submit(intent(amount="1", price="50020", time_in_force=TimeInForce.FILL_OR_KILL))

    assert (order.status, order.amount_filled) == (OrdStatus.FILLED, 1)
    assert holding("USD").locked == 0


def test_a_post_only_order_that_would_take_is_rejected_and_nothing_is_recorded(venue):
    with pytest.raises(Rejected, match="EOrder:Post only order"):
        venue.submit(intent(amount="0.1", price="50010", post_only=True))

    assert not PaperOrder.objects.exists()
    assert holding("USD").locked == 0


def test_a_post_only_order_that_would_not_take_rests(venue):
    order = venue.submit(intent(amount="0.1", price="50000", post_only=True))

    assert order.status == OrdStatus.NEW


def test_an_order_outside_the_spread_rests_and_locks_its_funds(venue):
    order = venue.submit(intent(amount="0.1", price="49000"))

    assert (order.status, order.amount_filled, order.fills) == (OrdStatus.NEW, 0, ())
    assert order.exchange_order_id.startswith("P")
    assert order.client_order_id_format_exchange == order.client_order_id
    usd = holding("USD")
    assert (usd.total, usd.locked) == (100000, buy_lock("49000", "0.1"))


def test_good_till_time_oms_reaches_the_venue_as_good_till_cancel(venue):
    order = venue.submit(
        intent(
            time_in_force=TimeInForce.GOOD_TILL_TIME_OMS,
            expire_time=timezone.now() - timedelta(minutes=1),
        )
    )

    assert (order.status, order.time_in_force) == (OrdStatus.NEW, TimeInForce.GOOD_TILL_CANCEL)


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (intent(symbol="XBTEUR"), "EQuery:Unknown asset pair"),
        (intent(amount="0.00005"), "EGeneral:Invalid arguments:volume"),
        (intent(amount="0.00015"), "EGeneral:Invalid arguments:volume"),
        (intent(symbol="OXTUSD", amount="5", price="0.11"), "EGeneral:Invalid arguments:volume"),
        (intent(price="0"), "EGeneral:Invalid arguments:price"),
        (intent(price="-49000"), "EGeneral:Invalid arguments:price"),
        (intent(price="49000.05"), "EGeneral:Invalid arguments:price"),
        (intent(amount="0.0001", price="40000"), "EGeneral:Invalid arguments:cost minimum not met"),
        (
            intent(symbol="USDJPY", amount="6", price="150"),
            "EGeneral:Invalid arguments:volume",
        ),
        (
            intent(symbol="OXTUSD", amount="10", price="0.09"),
            "EGeneral:Invalid arguments:cost minimum not met",
        ),
        (intent(amount="3", price="49000"), "EOrder:Insufficient funds"),
        (intent("SELL", amount="2.5", price="51000"), "EOrder:Insufficient funds"),
        (
            intent(time_in_force=TimeInForce.GOOD_TILL_TIME_EXCHANGE),
            "EGeneral:Invalid arguments:expiretm",
        ),
        (
            intent(
                time_in_force=TimeInForce.GOOD_TILL_TIME_EXCHANGE,
                expire_time=timezone.now() - timedelta(seconds=1),
            ),
            "EGeneral:Invalid arguments:expiretm",
        ),
    ],
)
def test_an_order_a_real_venue_would_refuse_is_rejected_in_its_words(venue, order, message):
    with pytest.raises(Rejected) as rejected:
        venue.submit(order)

    assert rejected.value.message == message
    assert not PaperOrder.objects.exists()


def test_funds_locked_by_resting_orders_are_not_available_to_new_ones(venue):
    venue.submit(intent(amount="1.5", price="49000"))

    with pytest.raises(Rejected, match="EOrder:Insufficient funds"):
        venue.submit(intent(amount="0.6", price="49000"))


def test_a_second_order_with_a_used_client_order_id_is_a_duplicate(venue):
    venue.submit(intent(client_order_id="same"))

    with pytest.raises(DuplicateClientOrderId):
        venue.submit(intent(client_order_id="same", price="48000"))

    assert PaperOrder.objects.count() == 1


def test_another_account_may_use_the_same_client_order_id():
    engine.order_submit(ACCOUNT_KEY, intent(client_order_id="same"))
    engine.order_submit("PAPER/OTHER", intent(client_order_id="same"))

    assert PaperOrder.objects.count() == 2


def test_canceling_a_resting_order_releases_its_locked_funds(venue):
    buy = venue.submit(intent(amount="0.1", price="49000"))
    sell = venue.submit(intent("SELL", amount="0.3", price="51000"))

    canceled = venue.cancel(OrderRef("BTCUSD", client_order_id=buy.client_order_id))
    assert (canceled.status, canceled.message) == (OrdStatus.CANCELED, "User requested")
    assert holding("USD").locked == 0

    venue.cancel(OrderRef("BTCUSD", exchange_order_id=sell.exchange_order_id))
    assert holding("BTC").locked == 0
    assert (holding("USD").total, holding("BTC").total) == (100000, 2)


def test_canceling_a_partly_filled_order_keeps_its_fills(venue):
    placed = venue.submit(intent(amount="1", price="50010"))

    canceled = venue.cancel(OrderRef("BTCUSD", client_order_id=placed.client_order_id))

    assert (canceled.status, canceled.amount_filled) == (OrdStatus.CANCELED, Decimal("0.5"))
    assert holding("USD").locked == 0


@pytest.mark.parametrize(
    "ref",
    [
        OrderRef("BTCUSD", client_order_id="never-sent"),
        OrderRef("BTCUSD", exchange_order_id="P0000099999"),
        OrderRef("BTCUSD", exchange_order_id="garbage"),
        OrderRef("BTCUSD"),
    ],
)
def test_canceling_an_unknown_order_is_rejected(venue, ref):
    with pytest.raises(Rejected, match="EOrder:Unknown order"):
        venue.cancel(ref)


def test_canceling_a_closed_order_is_rejected_as_unknown(venue):
    placed = venue.submit(intent(amount="0.1", price="49000"))
    venue.cancel(OrderRef("BTCUSD", client_order_id=placed.client_order_id))

    with pytest.raises(Rejected, match="EOrder:Unknown order"):
        venue.cancel(OrderRef("BTCUSD", client_order_id=placed.client_order_id))


def test_an_account_cannot_cancel_another_accounts_order(venue):
    theirs = engine.order_submit("PAPER/OTHER", intent())

    with pytest.raises(Rejected, match="EOrder:Unknown order"):
        venue.cancel(OrderRef("BTCUSD", exchange_order_id=theirs.exchange_order_id))


def test_cancel_all_cancels_every_open_order_of_the_account_only(venue):
    first = venue.submit(intent(price="49000"))
    second = venue.submit(intent("SELL", amount="0.1", price="3100", symbol="ETHUSD"))
    venue.submit(intent(amount="0.1", price="50010"))  # filled
    engine.order_submit("PAPER/OTHER", intent())

    canceled = venue.cancel_all()

    assert {order.client_order_id for order in canceled} == {
        first.client_order_id,
        second.client_order_id,
    }
    assert {order.status for order in canceled} == {OrdStatus.CANCELED}
    assert venue.open_orders() == []
    assert PaperOrder.objects.filter(account__account_key="PAPER/OTHER", status="NEW").exists()


def test_lookup_finds_an_order_in_any_status_and_nothing_for_an_unknown_id(venue):
    filled = venue.submit(intent(amount="0.1", price="50010"))
    resting = venue.submit(intent())

    assert venue.lookup(filled.client_order_id, "BTCUSD").status == OrdStatus.FILLED
    assert venue.lookup(resting.client_order_id, "BTCUSD") == resting
    assert venue.lookup("never-sent", "BTCUSD") is None


def test_open_orders_lists_the_accounts_resting_orders_oldest_first(venue):
    first = venue.submit(intent(price="49000"))
    second = venue.submit(intent(amount="1", price="50010"))  # partly filled, rests
    venue.submit(intent(amount="0.1", price="50020"))  # filled

    assert venue.open_orders() == [first, second]


def test_fills_since_returns_newer_trades_oldest_first_with_a_cursor(venue):
    first = venue.submit(intent(amount="0.6", price="50020"))
    fills, cursor = venue.fills_since(None)
    assert [fill.amount for fill in fills] == [Decimal("0.5"), Decimal("0.1")]
    assert {fill.exchange_order_id for fill in fills} == {first.exchange_order_id}
    assert cursor == fills[-1].trade_id

    second = venue.submit(intent("SELL", amount="0.2", price="49990"))
    fills, new_cursor = venue.fills_since(cursor)
    assert [(fill.client_order_id, fill.amount) for fill in fills] == [
        (second.client_order_id, Decimal("0.2"))
    ]

    assert venue.fills_since(new_cursor) == ([], new_cursor)


def test_fills_since_shows_only_the_accounts_own_trades(venue):
    engine.order_submit("PAPER/OTHER", intent(amount="0.1", price="50010"))

    assert venue.fills_since(None) == ([], None)
    assert PaperTrade.objects.count() == 1


def test_a_good_till_time_order_expires_when_its_time_has_passed(venue):
    now = timezone.now()
    placed = venue.submit(
        intent(
            time_in_force=TimeInForce.GOOD_TILL_TIME_EXCHANGE,
            expire_time=now + timedelta(minutes=1),
        )
    )

    engine.advance_markets(now + timedelta(seconds=30))
    assert venue.lookup(placed.client_order_id, "BTCUSD").status == OrdStatus.NEW

    engine.advance_markets(now + timedelta(minutes=2))
    order = venue.lookup(placed.client_order_id, "BTCUSD")
    assert (order.status, order.message) == (OrdStatus.CANCELED, "Expired")
    assert holding("USD").locked == 0


def test_a_good_till_time_order_expires_at_the_step_after_its_time(venue, settings):
    settings.EMSWEB_PAPER_TICK_SECONDS = 1
    start = timezone.now()
    engine.markets_get(start)
    placed = venue.submit(
        intent(
            time_in_force=TimeInForce.GOOD_TILL_TIME_EXCHANGE,
            expire_time=start + timedelta(seconds=2.5),
            price="40000",
        ),
    )

    engine.advance_markets(start + timedelta(seconds=2))
    assert venue.lookup(placed.client_order_id, "BTCUSD").status == OrdStatus.NEW

    engine.advance_markets(start + timedelta(seconds=3))
    assert venue.lookup(placed.client_order_id, "BTCUSD").status == OrdStatus.CANCELED


def test_open_orders_read_trades_once_and_only_when_an_order_traded(venue):
    """A sync reads every resting order each cycle: the list costs the same for 2 or 20 of
    them, and one query more, for all the trades, once one of them has traded."""

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            venue.open_orders()
        return len(queries)

    for _ in range(2):
        venue.submit(intent(amount="0.01", price="49000"))
    venue.open_orders()  # the markets' first step since the book was set
    two = statements()
    for _ in range(18):
        venue.submit(intent(amount="0.01", price="49000"))
    assert statements() == two
    venue.submit(intent(amount="1", price="50010"))  # partly filled, rests
    assert statements() == two + 1
