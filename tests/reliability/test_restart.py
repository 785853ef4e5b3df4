"""Restart reconciliation: emsweb is down while the venue moves on; on start, trading on the
account waits until a full sync has reconciled it with the venue."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import override_settings

from accounts.models import Balance
from accounts.services import account_link
from orders.gate import account_reconciled, reconciliations_forget
from orders.instruments import instruments_refresh
from orders.models import EventCause, Order, OrderOrigin, RejectReason
from orders.services import order_route
from orders.sync import account_sync
from tests.conftest import VAR, Worker, wait_for
from tests.reliability.conftest import (
    ACCOUNT,
    assert_invariants,
    creates_sent,
    submit,
    wait_status,
)
from venues.base import OrderIntent, OrdStatus, TimeInForce
from venues.paper import engine
from venues.paper.models import PaperOrder

S = OrdStatus
pytestmark = [pytest.mark.pipeline]


@pytest.fixture
def worker_log():
    return VAR / "test-restart-worker.log"


@pytest.fixture
def linked(purge_broker, transactional_db, worker_log):
    """A paper account linked and synced by a worker that is then stopped: emsweb is down."""
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    worker = Worker("restart-before", concurrency=1, log_path=worker_log)
    try:
        account, _ = account_link(exchange_id=ACCOUNT, parameters={})
        wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
        fills = wait_status(submit(account, "down-fills"), S.NEW)
        cancels = wait_status(submit(account, "down-cancels", price="48000"), S.NEW)
        stays = wait_status(submit(account, "down-stays", price="47000"), S.NEW)
    finally:
        worker.stop()
    return account, fills, cancels, stays


def by_hand(client_order_id: str, *, side: str, amount: str, price: str) -> None:
    """An order placed at the venue by hand, not through emsweb."""
    intent = OrderIntent(
        client_order_id=client_order_id,
        symbol_id_exchange="BTCUSD",
        side=side,
        amount=Decimal(amount),
        price=Decimal(price),
        time_in_force=TimeInForce.GOOD_TILL_CANCEL,
    )
    engine.order_submit(ACCOUNT, intent)


@pytest.mark.fault(12, "worker down while orders fill/cancel, outside orders placed and filled")
def test_after_downtime_trading_waits_for_reconciliation_then_the_db_equals_the_venue(
    linked, worker_log
):
    account, fills, cancels, stays = linked
    # While emsweb is down: one order fills, one is canceled at the venue, two are placed by
    # hand (one stays open, one fills completely, so only its trades tell of it), and a trader
    # submits a new order (queued; no worker is running).
    by_hand("by-hand-filled", side="BUY", amount="0.05", price="49500")
    engine.market_set_mid("BTCUSD", Decimal("48500"))  # crosses 49500 and 49000, not 48000
    engine.order_cancel(ACCOUNT, client_order_id=cancels.client_order_id)
    by_hand("by-hand", side="SELL", amount="0.2", price="60000")
    new = submit(account, "after-restart", price="46000")
    assert Order.objects.get(pk=new.pk).status == S.RECEIVED

    worker = Worker("restart-after", concurrency=1, log_path=worker_log)
    try:
        new = wait_status(new, S.NEW)
    finally:
        worker.stop()

    # The queued order was routed only after the sync that learned what happened meanwhile.
    reconciled_at = fills.events.get(status=S.FILLED).at
    routed_at = new.events.get(status=S.ROUTING).at
    assert reconciled_at <= routed_at
    assert Order.objects.get(pk=fills.pk).status == S.FILLED
    assert Order.objects.get(pk=fills.pk).fills.count() == 1
    assert Order.objects.get(pk=cancels.pk).status == S.CANCELED
    assert Order.objects.get(pk=stays.pk).status == S.NEW
    outside = Order.objects.get(client_order_id="by-hand")
    assert outside.origin == OrderOrigin.EXTERNAL and outside.status == S.NEW
    assert outside.amount_order == Decimal("0.2")
    filled_outside = Order.objects.get(client_order_id="by-hand-filled")
    venue_filled = PaperOrder.objects.get(client_order_id="by-hand-filled")
    assert (filled_outside.origin, filled_outside.status) == (OrderOrigin.EXTERNAL, S.FILLED)
    assert filled_outside.amount_filled == Decimal("0.05")
    assert filled_outside.fills.count() == venue_filled.trades.count() > 0
    assert filled_outside.events.filter(note__contains="placed outside emsweb").count() == 1
    assert creates_sent(new.client_order_id) == 1
    assert_invariants(account)


@pytest.mark.fault(12, "worker restart")
def test_a_worker_start_closes_the_gate_until_a_sync_opens_it(linked):
    account, *_ = linked
    account_sync(account_id=account.pk)
    assert account_reconciled(account_id=account.pk)
    reconciliations_forget()  # what a worker does when it starts
    assert not account_reconciled(account_id=account.pk)
    account_sync(account_id=account.pk)
    assert account_reconciled(account_id=account.pk)


@pytest.mark.fault(12, "venue unreachable at restart")
def test_an_order_for_an_account_that_cannot_be_reconciled_is_held_then_rejected_unsent(linked):
    account, *_ = linked
    reconciliations_forget()
    engine.set_knobs(ACCOUNT, fault="UNREACHABLE")
    order = submit(account, "held")

    order_route(order_id=order.pk)  # the sync it runs first fails: the order is held
    assert Order.objects.get(pk=order.pk).status == S.RECEIVED
    with override_settings(EMSWEB_UNRECONCILED_REJECT_AFTER=0):
        order_route(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == S.REJECTED and order.reject_reason == RejectReason.LOCAL
    assert "Nothing reached the venue" in order.error_message
    assert order.events.filter(cause=EventCause.ROUTE, status=S.REJECTED).exists()
    assert creates_sent(order.client_order_id) == 0
    assert not PaperOrder.objects.filter(client_order_id=order.client_order_id).exists()
    engine.set_knobs(ACCOUNT, fault="NONE")
    assert_invariants(account)
