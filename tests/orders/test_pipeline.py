"""Orders end to end: services -> Redis -> a real Celery worker process -> the paper exchange."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Balance
from accounts.services import account_link
from orders import lifecycle
from orders.instruments import instruments_refresh
from orders.models import EventCause, Instrument, Order, RejectReason
from orders.services import OrderTicket, order_cancel, order_submit, orders_cancel_all
from orders.tasks import sweep_received_orders, sync_account
from tests.conftest import wait_for
from tests.factories import OrderFactory
from venues.base import OrdStatus, VenueOrder
from venues.paper import engine
from venues.paper.models import PaperOrder, PaperRequest

S = OrdStatus
pytestmark = [pytest.mark.pipeline]
ACCOUNT = "PAPER/PIPE"


@pytest.fixture
def account(pipeline):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    engine.market_set_mid("OXTUSD", Decimal("0.11"))
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    # Linking queues the first sync, which loads the balances the submit checks against.
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
    return account


def submit(account, **fields) -> Order:
    values = {
        "client_order_id": f"pipe-{Order.objects.count() + 1}",
        "symbol": "PAPER_SPOT_BTC_USD",
        "side": "BUY",
        "amount": "0.1",
        "price": "49000",
    }
    return order_submit(account=account, ticket=OrderTicket(**{**values, **fields}))


def wait_status(order: Order, *statuses: str) -> Order:
    def reached():
        order.refresh_from_db()
        return order.status in statuses

    wait_for(reached, what=f"{order.client_order_id} to reach {statuses} (is {order.status})")
    return order


def sync(account) -> None:
    """One sync cycle, run by the worker, and wait until it finished."""
    before = type(account).objects.get(pk=account.pk).last_sync_at
    sync_account.delay(account.pk)

    def synced():
        return type(account).objects.get(pk=account.pk).last_sync_at != before

    wait_for(synced, what="a sync cycle")


def history(order: Order) -> list[str]:
    return list(order.events.values_list("status", flat=True))


def venue_orders(client_order_id: str) -> int:
    """Orders at the venue with this id; also checks the venue received at most one create."""
    submits = PaperRequest.objects.filter(kind="SUBMIT", client_order_id=client_order_id)
    assert submits.count() <= 1, "a create request was sent twice"
    return PaperOrder.objects.filter(client_order_id=client_order_id).count()


def test_a_resting_order_goes_received_routing_routed_new(account):
    order = wait_status(submit(account), S.NEW)
    assert history(order) == [S.RECEIVED, S.ROUTING, S.ROUTED, S.NEW]
    times = list(order.events.values_list("at", flat=True))
    assert times == sorted(times)
    assert order.exchange_order_id
    assert order.client_order_id_format_exchange == order.client_order_id
    assert venue_orders(order.client_order_id) == 1


def test_a_resting_order_fills_when_the_market_crosses_it(account):
    order = wait_status(submit(account, amount="0.1", price="49000"), S.NEW)
    engine.market_set_mid("BTCUSD", Decimal("48000"))
    sync(account)
    order = wait_status(order, S.FILLED)
    assert history(order)[-1] == S.FILLED
    assert order.amount_filled == Decimal("0.1") and order.amount_open == 0
    assert order.avg_px == Decimal("49000")
    fill = order.fills.get()
    assert fill.liquidity == "MAKER" and fill.fee > 0 and fill.fee_asset == "USD"
    btc = Balance.objects.get(account=account, asset_id_exchange="BTC")
    assert btc.balance == Decimal("2.1")


def test_a_large_order_fills_partially_across_the_books_levels(account):
    order = wait_status(submit(account, amount="1.9", price="49000"), S.NEW)
    # Put the best ask right at the order's limit: only that level's liquidity crosses it.
    engine.market_set_mid("BTCUSD", Decimal("49000"))
    _, best_ask = engine.best_bid_ask("BTCUSD")
    engine.market_set_mid("BTCUSD", Decimal("49000") - (best_ask - Decimal("49000")))
    sync(account)
    order = wait_status(order, S.PARTIALLY_FILLED)
    assert 0 < order.amount_filled < Decimal("1.9")
    assert order.amount_open == Decimal("1.9") - order.amount_filled


def test_a_marketable_order_fills_on_arrival_at_the_books_prices(account):
    order = wait_status(submit(account, amount="0.1", price="51000"), S.FILLED)
    assert history(order) == [S.RECEIVED, S.ROUTING, S.ROUTED, S.FILLED]
    assert Decimal("50000") < order.avg_px < Decimal("51000")
    assert order.fills.first().liquidity == "TAKER"


def test_a_working_order_can_be_canceled(account):
    order = wait_status(submit(account), S.NEW)
    order_cancel(order=order)
    order = wait_status(order, S.CANCELED)
    assert history(order)[-2:] == [S.PENDING_CANCEL, S.CANCELED]
    assert PaperOrder.objects.get(client_order_id=order.client_order_id).status == "CANCELED"


def test_cancel_all_cancels_every_working_order_of_the_account(account):
    orders = [wait_status(submit(account, price=str(48000 + n)), S.NEW) for n in range(3)]
    assert orders_cancel_all(account=account) == 3
    for order in orders:
        assert history(wait_status(order, S.CANCELED))[-2:] == [S.PENDING_CANCEL, S.CANCELED]


def test_an_ioc_that_cannot_trade_is_canceled_without_resting(account):
    order = wait_status(submit(account, time_in_force="IMMEDIATE_OR_CANCEL"), S.CANCELED)
    assert history(order) == [S.RECEIVED, S.ROUTING, S.ROUTED, S.CANCELED]
    assert order.amount_filled == 0


def test_a_fok_larger_than_the_book_is_killed_and_one_that_fits_fills(account):
    best_ask = engine.book("BTCUSD").asks[0]
    too_big = wait_status(
        submit(account, amount=str(best_ask.size + Decimal("0.1")), price=str(best_ask.price),
               time_in_force="FILL_OR_KILL"),
        S.CANCELED, S.FILLED,
    )  # fmt: skip
    fits = wait_status(
        submit(account, amount="0.01", price="51000", time_in_force="FILL_OR_KILL"),
        S.FILLED, S.CANCELED,
    )  # fmt: skip
    assert too_big.status == S.CANCELED and too_big.amount_filled == 0
    assert fits.status == S.FILLED and fits.amount_filled == Decimal("0.01")


def test_a_post_only_order_that_would_take_is_rejected_and_never_filled(account):
    order = wait_status(
        submit(account, price="51000", exec_inst=("MAKER_OR_CANCEL",)), S.REJECTED, S.FILLED
    )
    assert order.status == S.REJECTED
    assert "Post only" in order.error_message
    assert order.amount_filled == 0 and not order.fills.exists()


def test_a_post_only_order_that_rests_is_accepted(account):
    wait_status(submit(account, price="49000", exec_inst=("MAKER_OR_CANCEL",)), S.NEW)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("funds", "EOrder:Insufficient funds"),
        ("tick", "EGeneral:Invalid arguments:price"),
        ("lot", "EGeneral:Invalid arguments:volume"),
        ("symbol", "EQuery:Unknown asset pair"),
    ],
)
def test_each_venue_rejection_is_recorded_with_the_venues_message(account, change, message):
    """Our instrument table or balances are stale, so only the venue can refuse the order."""
    fields = {}
    if change == "funds":
        Balance.objects.filter(account=account, asset_id_exchange="USD").update(
            available=Decimal("10000000")
        )
        fields = {"amount": "5", "price": "49000"}
    elif change == "tick":
        Instrument.objects.filter(symbol_id_exchange="BTCUSD").update(tick_size=Decimal("0.01"))
        fields = {"price": "49000.05"}
    elif change == "lot":
        Instrument.objects.filter(symbol_id_exchange="BTCUSD").update(lot_size=Decimal("0.00001"))
        fields = {"amount": "0.10005"}
    else:
        Instrument.objects.create(
            venue="PAPER", symbol_id_exchange="DOGEUSD", symbol_id_coinapi="PAPER_SPOT_DOGE_USD",
            base="DOGE", quote="USD", tick_size=Decimal("0.0001"), lot_size=Decimal("1"),
        )  # fmt: skip
        fields = {"symbol": "PAPER_SPOT_DOGE_USD", "amount": "100", "price": "0.1"}
    order = wait_status(submit(account, **fields), S.REJECTED, S.NEW)
    assert order.status == S.REJECTED
    assert message in order.error_message
    assert order.reject_reason == RejectReason.VENUE
    assert history(order) == [S.RECEIVED, S.ROUTING, S.REJECTED]


def test_an_unreachable_venue_rejects_the_order_and_says_so(account):
    engine.set_knobs(ACCOUNT, fault="UNREACHABLE")
    order = wait_status(submit(account), S.REJECTED)
    assert order.reject_reason == RejectReason.EXCHANGE_UNREACHABLE
    assert venue_orders(order.client_order_id) == 0


def test_a_timeout_after_the_venue_accepted_is_reconciled_not_resent(account):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=0)
    order = submit(account)
    wait_for(lambda: Order.objects.get(pk=order.pk).outcome_unknown_at, what="unknown outcome")
    assert Order.objects.get(pk=order.pk).status == S.ROUTING
    engine.set_knobs(ACCOUNT, fault="NONE")
    wait_for(lambda: sync(account) or Order.objects.get(pk=order.pk).status == S.NEW,
             what="reconciliation")  # fmt: skip
    order = wait_status(order, S.NEW)
    assert history(order) == [S.RECEIVED, S.ROUTING, S.ROUTED, S.NEW]
    # Found by the sync's open-order listing, or by the reconciler's lookup: either way, found.
    assert order.events.last().cause in (EventCause.SYNC, EventCause.RECONCILE)
    assert venue_orders(order.client_order_id) == 1


def test_a_timeout_before_the_venue_accepted_ends_as_never_placed(account):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_BEFORE_ACCEPT", fault_delay_ms=0)
    order = submit(account)
    wait_for(lambda: Order.objects.get(pk=order.pk).outcome_unknown_at, what="unknown outcome")
    engine.set_knobs(ACCOUNT, fault="NONE")

    def resolved():
        sync(account)
        return Order.objects.get(pk=order.pk).status == S.REJECTED

    wait_for(resolved, timeout=30, what="the never-placed verdict")
    order.refresh_from_db()
    assert order.reject_reason == RejectReason.NEVER_PLACED
    assert order.not_found_lookups >= 3
    assert "Never placed" in order.error_message
    assert venue_orders(order.client_order_id) == 0


def test_a_timed_out_order_that_filled_at_once_is_found_by_its_client_order_id(account):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=0)
    order = submit(account, price="51000")
    wait_for(lambda: Order.objects.get(pk=order.pk).outcome_unknown_at, what="unknown outcome")
    engine.set_knobs(ACCOUNT, fault="NONE")

    def resolved():
        sync(account)
        return Order.objects.get(pk=order.pk).status == S.FILLED

    wait_for(resolved, what="reconciliation")
    assert history(order) == [S.RECEIVED, S.ROUTING, S.ROUTED, S.FILLED]
    assert order.fills.exists()
    assert venue_orders(order.client_order_id) == 1


def test_a_late_venue_report_does_not_regress_a_filled_order(account):
    order = wait_status(submit(account, price="51000"), S.FILLED)
    stale = VenueOrder(
        client_order_id=order.client_order_id,
        exchange_order_id=order.exchange_order_id,
        symbol_id_exchange="BTCUSD",
        status=S.NEW,
        side=order.side,
        amount=order.amount_order,
        price=order.price,
        amount_filled=Decimal(0),
    )
    assert not lifecycle.apply_report(order.pk, stale, cause=EventCause.SYNC)
    order.refresh_from_db()
    assert order.status == S.FILLED and order.amount_filled == order.amount_order


def test_a_received_order_whose_task_was_lost_is_swept_and_routed(account):
    instrument = Instrument.objects.get(symbol_id_exchange="BTCUSD")
    lost = OrderFactory(
        account=account,
        instrument=instrument,
        amount_order=Decimal("0.1"),
        price=Decimal("49000"),
        created_at=timezone.now() - timedelta(minutes=1),
    )
    sweep_received_orders.delay()
    assert wait_status(lost, S.NEW).status == S.NEW


def test_an_oms_good_till_time_order_is_canceled_by_emsweb_at_expiry(account):
    order = wait_status(
        submit(account, time_in_force="GOOD_TILL_TIME_OMS",
               expire_time=timezone.now() + timedelta(seconds=1)),
        S.NEW,
    )  # fmt: skip
    assert PaperOrder.objects.get(client_order_id=order.client_order_id).time_in_force == (
        "GOOD_TILL_CANCEL"
    )

    def expired():
        sync(account)
        return Order.objects.get(pk=order.pk).status == S.CANCELED

    wait_for(expired, what="expiry")
    assert order.events.get(status=S.PENDING_CANCEL).cause == EventCause.EXPIRY


def test_an_order_placed_at_the_venue_by_hand_is_adopted(account):
    from venues.base import OrderIntent, TimeInForce
    from venues.paper.adapter import PaperVenue

    PaperVenue(account_key=ACCOUNT).submit(
        OrderIntent(
            client_order_id="by-hand-1",
            symbol_id_exchange="BTCUSD",
            side="SELL",
            amount=Decimal("0.2"),
            price=Decimal("52000"),
            time_in_force=TimeInForce.GOOD_TILL_CANCEL,
        )
    )
    sync(account)
    adopted = Order.objects.get(client_order_id="by-hand-1")
    assert adopted.origin == "EXTERNAL" and adopted.status == S.NEW
    assert adopted.created_by is None
