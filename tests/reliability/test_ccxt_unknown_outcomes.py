"""RELIABILITY.md §7 #6 on the ccxt path: a create answered with a 5xx, a 503 "unknown" or
malformed JSON is an unknown outcome, never a rejection. The sync's lookup then finds the order
when the exchange took it, or, when it did not, declares it never placed only after the deadline
and N lookups. Kraken, Binance and Binance USDⓈ-M futures (the same fapi answers), each through
order_submit -> order_route -> account_sync, each ending with the checker against the simulated
exchange's own record (and, for the futures, its position)."""

from __future__ import annotations

import pytest

from orders.models import Order, RejectReason
from orders.services import order_route
from orders.sync import account_sync
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
from tests.reliability.conftest import assert_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401
from venues.base import OrdStatus

S = OrdStatus
pytestmark = pytest.mark.django_db

KRAKEN_FAULTS = {
    "HTTP 500": (500, "<html><body><h1>500 Internal Server Error</h1></body></html>"),
    "503 unknown": (503, {"error": ["EService:Unavailable"]}),
    "malformed JSON": (200, '{"error":[],"result":{"descr":{"order":"buy 0.01 XBTUSD'),
}
BINANCE_FAULTS = {
    "HTTP 500": (500, "<html><body><h1>500 Internal Server Error</h1></body></html>"),
    "503 unknown": (
        503,
        {
            "code": -1007,
            "msg": "Timeout waiting for response from backend server. "
            "Send status unknown; execution status unknown.",
        },
    ),
    "malformed JSON": (200, '{"symbol":"BTCUSDT","orderId":10'),
}
CASES = [
    (venue, name, *answer)
    for venue, faults in (
        ("KRAKEN", KRAKEN_FAULTS),
        ("BINANCE", BINANCE_FAULTS),
        ("BINANCEFTS", BINANCE_FAULTS),
    )
    for name, answer in faults.items()
]
IDS = [f"{venue}-{name}" for venue, name, *_ in CASES]


def routed_with_unknown_outcome(sim, account, client_order_id: str) -> Order:
    order = sim_submit(account, client_order_id)
    order_route(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.ROUTING, f"{order.status}: {order.error_message}"
    assert order.outcome_unknown_at is not None
    return order


@pytest.mark.fault(6, "5xx / 503 unknown / malformed JSON on a create the venue took")
@pytest.mark.parametrize(("venue", "fault", "status", "body"), CASES, ids=IDS)
def test_a_create_answered_badly_is_unknown_then_found_by_the_lookup(
    ccxt_fake, venue, fault, status, body
):
    sim, account = sim_account(ccxt_fake, venue)
    sim.next_create(takes=True, status=status, body=body)
    order = routed_with_unknown_outcome(sim, account, "took-it")

    account_sync(account_id=account.pk)

    order.refresh_from_db()
    held = sim.held(order.client_order_id_format_exchange)
    assert (order.status, order.exchange_order_id) == (S.NEW, held.exchange_order_id)
    assert S.REJECTED not in order.events.values_list("status", flat=True)
    assert len(sim.create_requests()) == 1
    assert_invariants(account)


@pytest.mark.fault(6, "5xx / 503 unknown / malformed JSON, the venue did not take it")
@pytest.mark.parametrize(("venue", "fault", "status", "body"), CASES, ids=IDS)
def test_a_create_answered_badly_and_not_taken_is_never_placed_only_after_n_lookups(
    ccxt_fake, settings, venue, fault, status, body
):
    settings.EMSWEB_NEVER_PLACED_AFTER = 0
    lookups = settings.EMSWEB_NOT_FOUND_LOOKUPS = 3
    sim, account = sim_account(ccxt_fake, venue)
    sim.next_create(takes=False, status=status, body=body)
    order = routed_with_unknown_outcome(sim, account, "not-taken")

    for done in range(1, lookups):
        account_sync(account_id=account.pk)
        order.refresh_from_db()
        assert (order.status, order.not_found_lookups) == (S.ROUTING, done)
    account_sync(account_id=account.pk)

    order.refresh_from_db()
    assert order.status == S.REJECTED and order.reject_reason == RejectReason.NEVER_PLACED
    assert "Safe to submit again" in order.error_message
    assert sim.orders == {} and len(sim.create_requests()) == 1
    assert_invariants(account)
