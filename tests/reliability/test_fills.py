"""Fills under faults: a fill racing a cancel, fills reported twice or out of order or before the
venue's answer to the create, and a venue reporting more filled than was ordered."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from decimal import Decimal

import pytest

from accounts.models import ExchangeAccount
from orders import lifecycle
from orders.models import EventCause, Order
from orders.services import order_cancel
from orders.sync import account_sync
from tests.conftest import wait_for
from tests.faults_table import note_verdict
from tests.reliability.conftest import (
    ACCOUNT,
    assert_invariants,
    check_invariants,
    creates_sent,
    settle,
    submit,
    wait_status,
)
from venues.base import OrdStatus
from venues.paper import engine
from venues.paper.adapter import PaperVenue
from venues.paper.models import PaperOrder, PaperRequest

S = OrdStatus
pytestmark = [pytest.mark.pipeline]


def history(order: Order) -> list[str]:
    return list(order.events.values_list("status", flat=True))


@pytest.mark.fault(10, "cancel reaches the venue after the fill")
def test_a_cancel_that_arrives_after_the_order_filled_ends_filled(account):
    order = wait_status(submit(account, "race-filled-first"), S.NEW)
    engine.market_set_mid("BTCUSD", Decimal("48000"))  # fills at the venue; emsweb not told yet
    order_cancel(order=Order.objects.get(pk=order.pk))

    wait_for(
        lambda: PaperRequest.objects.filter(
            kind="CANCEL", client_order_id=order.client_order_id
        ).exists(),
        what="the cancel to reach the venue",
    )
    order = wait_status(order, S.FILLED)
    assert history(order)[-2:] == [S.PENDING_CANCEL, S.FILLED]
    assert order.amount_filled == Decimal("0.1") and order.avg_px == Decimal("49000")
    assert order.fills.count() == 1
    account_sync(account_id=account.pk)  # the fill arrives again through the trade feed
    assert Order.objects.get(pk=order.pk).fills.count() == 1
    assert_invariants(account)


@pytest.mark.fault(10, "fill learned while the cancel is in flight")
def test_a_fill_learned_while_the_cancel_is_in_flight_wins_and_the_cancel_is_a_no_op(account):
    order = wait_status(submit(account, "race-cancel-in-flight"), S.NEW)
    engine.set_knobs(ACCOUNT, latency_ms=1500)  # the cancel dawdles on its way
    order_cancel(order=Order.objects.get(pk=order.pk))
    wait_status(order, S.PENDING_CANCEL)
    time.sleep(0.3)  # the worker is now waiting to send the cancel
    engine.market_set_mid("BTCUSD", Decimal("48000"))
    engine.set_knobs(ACCOUNT, latency_ms=0)

    order = settle(account, order, S.FILLED)
    wait_for(
        lambda: PaperRequest.objects.filter(
            kind="CANCEL", client_order_id=order.client_order_id
        ).exists(),
        what="the late cancel to reach the venue",
    )
    time.sleep(0.5)  # its refusal ("unknown order") is applied by the worker
    order.refresh_from_db()
    assert order.status == S.FILLED
    assert history(order)[-2:] == [S.PENDING_CANCEL, S.FILLED]
    assert PaperOrder.objects.get(client_order_id=order.client_order_id).status == "FILLED"
    assert_invariants(account)


@pytest.mark.fault(11, "same trade twice, replayed after restart")
def test_the_same_trade_reported_twice_and_replayed_after_a_restart_counts_once(account):
    order = wait_status(submit(account, "dup-fills", amount="0.1", price="49000"), S.NEW)
    engine.market_set_mid("BTCUSD", Decimal("48000"))
    order = settle(account, order, S.FILLED)
    fills, _ = PaperVenue(account_key=ACCOUNT).fills_since(None)

    assert lifecycle.apply_fills(order.pk, fills + fills, cause=EventCause.SYNC) is False
    # A restart that lost the fills cursor replays the whole trade feed.
    ExchangeAccount.objects.filter(pk=account.pk).update(fills_cursor="")
    account_sync(account_id=account.pk)

    order.refresh_from_db()
    assert order.fills.count() == 1 and order.amount_filled == Decimal("0.1")
    assert history(order).count(S.FILLED) == 1
    assert_invariants(account)


@pytest.mark.fault(11, "fills out of order and before the ack")
def test_fills_reported_out_of_order_and_before_the_ack_count_once_and_only_grow(account):
    # The venue accepts and fills the order, but its answer is lost: emsweb still says ROUTING.
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=0)
    big = submit(account, "fills-before-ack", amount="1.5", price="49000")
    wait_for(lambda: Order.objects.get(pk=big.pk).outcome_unknown_at, what="the lost answer")
    engine.set_knobs(ACCOUNT, fault="NONE")
    # Two trades at the venue: the best ask lands on the limit twice, once per step.
    for _ in range(2):
        engine.market_set_mid("BTCUSD", Decimal("49000"))
        _, best_ask = engine.best_bid_ask("BTCUSD")
        engine.market_set_mid("BTCUSD", Decimal("49000") - (best_ask - Decimal("49000")))
    fills, _ = PaperVenue(account_key=ACCOUNT).fills_since(None)
    assert len(fills) >= 2
    assert Order.objects.get(pk=big.pk).status == S.ROUTING

    seen = []
    for fill in reversed(fills):  # newest first, each twice
        lifecycle.apply_fills(big.pk, [fill, fill], cause=EventCause.SYNC)
        big.refresh_from_db()
        seen.append(big.amount_filled)
    assert seen == sorted(seen), "filled only grows"
    assert big.status in (S.PARTIALLY_FILLED, S.FILLED)
    assert "ROUTED" in history(big)

    account_sync(account_id=big.account_id)
    big.refresh_from_db()
    venue_order = PaperOrder.objects.get(client_order_id=big.client_order_id)
    assert big.amount_filled == venue_order.filled
    assert big.fills.count() == venue_order.trades.count()
    assert creates_sent(big.client_order_id) == 1
    assert_invariants(account)


@pytest.mark.fault(11, "venue reports more filled than ordered")
def test_an_over_fill_report_is_recorded_and_alerted_not_clamped(account, caplog):
    order = wait_status(submit(account, "overfill", amount="0.1"), S.NEW)
    report = PaperVenue(account_key=ACCOUNT).lookup(order.client_order_id, "BTCUSD")
    over = replace(report, status=S.FILLED, amount_filled=Decimal("0.15"))

    with caplog.at_level(logging.ERROR, logger="orders.lifecycle"):
        assert lifecycle.apply_report(order.pk, over, cause=EventCause.SYNC) is False
        assert lifecycle.apply_report(order.pk, over, cause=EventCause.SYNC) is False

    order.refresh_from_db()
    assert order.status == S.NEW and order.amount_filled == 0, "never clamped to the amount"
    assert order.overfill_reported == Decimal("0.15")
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR and "OVERFILL" in r.message]
    assert len(alerts) == 1, "alerted once, not on every repeat"
    # The checker holds the over-fill up for a person; nothing else is out of line.
    violations = check_invariants(account)
    assert len(violations) == 1 and "over-fill" in violations[0]
    note_verdict("flags the over-fill, as it must")
