"""The invariant checker itself: silent when the database and the venue agree, and naming each
kind of disagreement the fault scenarios rely on it to catch."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.gate import sync_lock
from orders.invariants import account_invariants_check, invariants_check
from orders.models import Fill
from tests.factories import AccountFactory, InstrumentFactory, OrderFactory
from venues.base import OrderIntent, OrdStatus, TimeInForce
from venues.paper import engine
from venues.paper.models import PaperRequest

S = OrdStatus
pytestmark = [pytest.mark.django_db]


@pytest.fixture
def account():
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    return AccountFactory()


def at_venue(account, client_order_id: str, price: str = "49000"):
    intent = OrderIntent(
        client_order_id=client_order_id,
        symbol_id_exchange="BTCUSD",
        side="BUY",
        amount=Decimal("0.1"),
        price=Decimal(price),
        time_in_force=TimeInForce.GOOD_TILL_CANCEL,
    )
    return engine.order_submit(account.exchange_id, intent)


def in_db(account, venue_order, **fields):
    values = {
        "client_order_id": venue_order.client_order_id,
        "account": account,
        "instrument": InstrumentFactory(),
        "amount_order": venue_order.amount,
        "price": venue_order.price,
        "status": S.NEW,
        "exchange_order_id": venue_order.exchange_order_id,
        **fields,
    }
    return OrderFactory(**values)


@pytest.mark.fault(0, "none: the database and the venue agree")
def test_agreement_is_silent(account):
    in_db(account, at_venue(account, "agrees"))
    assert account_invariants_check(account=account) == []
    assert invariants_check() == []


@pytest.mark.fault(0, "a venue order emsweb does not know")
def test_a_venue_order_unknown_to_emsweb_is_named(account):
    venue_order = at_venue(account, "stranger")
    violations = account_invariants_check(account=account)
    assert violations == [f"venue order {venue_order.exchange_order_id} is unknown to emsweb"]


@pytest.mark.fault(0, "a second create for one client order id")
def test_a_second_create_request_for_one_client_order_id_is_named(account):
    in_db(account, at_venue(account, "twice"))
    paper = engine.account_get(account.exchange_id)
    PaperRequest.objects.create(account=paper, kind="SUBMIT", client_order_id="twice")
    PaperRequest.objects.create(account=paper, kind="SUBMIT", client_order_id="twice")
    assert account_invariants_check(account=account) == ["twice: 2 create requests sent"]


@pytest.mark.fault(0, "a status unlike the venue's")
def test_a_status_that_differs_from_the_venues_is_named(account):
    venue_order = at_venue(account, "differs")
    in_db(account, venue_order)
    engine.order_cancel(account.exchange_id, client_order_id="differs")
    assert account_invariants_check(account=account) == [
        "differs: NEW in emsweb, CANCELED at the venue"
    ]


@pytest.mark.fault(0, "a working order the venue never had")
def test_an_order_emsweb_thinks_is_working_but_the_venue_never_had_is_named(account):
    OrderFactory(client_order_id="phantom", account=account, status=S.NEW)
    assert account_invariants_check(account=account) == [
        "phantom: NEW in emsweb, but the venue has no such order"
    ]


@pytest.mark.fault(0, "fills counted twice or not the venue's")
def test_fills_counted_twice_or_not_the_venues_are_named(account):
    venue_order = at_venue(account, "filled", price="51000")  # takes on arrival
    assert venue_order.status == "FILLED"
    order = in_db(account, venue_order, status=S.FILLED, amount_filled=venue_order.filled)
    trade = venue_order.trades.get()
    Fill.objects.create(
        order=order, trade_id=str(trade.pk), time=trade.time, price=trade.price, amount=trade.amount
    )
    assert account_invariants_check(account=account) == []
    Fill.objects.create(
        order=order, trade_id="not-a-trade", time=trade.time, price=trade.price, amount=trade.amount
    )
    violations = account_invariants_check(account=account)
    assert "filled: fills ['not-a-trade'] are not the venue's trades of this order" in violations
    assert any("fills add up to" in violation for violation in violations)


@pytest.mark.fault(0, "an order stuck ROUTING")
def test_an_order_stuck_routing_past_its_deadline_is_named_unless_a_sync_is_running(account):
    long_ago = timezone.now() - timedelta(hours=1)
    OrderFactory(
        client_order_id="stuck", account=account, status=S.ROUTING, routing_started_at=long_ago
    )
    (violation,) = account_invariants_check(account=account)
    assert violation.startswith("stuck: ROUTING past its deadline")
    with sync_lock(account.pk):
        assert account_invariants_check(account=account) == []


@pytest.mark.fault(0, "an order stuck RECEIVED")
def test_a_received_order_is_stuck_only_past_the_sweepers_reach(account):
    OrderFactory(client_order_id="queued", account=account, status=S.RECEIVED)
    assert account_invariants_check(account=account) == []
    later = timezone.now() + timedelta(hours=1)
    (violation,) = account_invariants_check(account=account, now=later)
    assert violation.startswith("queued: RECEIVED past its deadline")
