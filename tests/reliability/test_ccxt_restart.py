"""RELIABILITY.md §7 #12 on the ccxt path: while emsweb is down (no sync), an order placed by
hand at the exchange fills completely (or trades, then is canceled by hand), so the open list
never shows it and only its trades tell of it. Those trades carry the exchange's order id and
no client order id: the next sync looks the order up by that id and adopts it once, as placed
outside emsweb, with its fills; the sync after that changes nothing. Kraken and Binance, each
ending with the checker against the simulated exchange's own record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Fill, Order, OrderEvent, OrderOrigin
from orders.services import order_route
from orders.sync import account_sync
from tests.reliability.ccxt_venue import (  # noqa: F401
    VENUES,
    ccxt_fake_fixture,
    sim_account,
    sim_submit,
)
from tests.reliability.conftest import assert_invariants, check_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401
from venues.base import OrdStatus

D = Decimal
S = OrdStatus
pytestmark = pytest.mark.django_db


def recorded(account) -> tuple:
    """Everything a sync could write about the account's orders."""
    orders = Order.objects.filter(account=account).order_by("pk")
    return (
        list(orders.values_list("pk", "status", "amount_filled", "avg_px", "version")),
        sorted(Fill.objects.filter(order__account=account).values_list("trade_id", flat=True)),
        OrderEvent.objects.filter(order__account=account).count(),
    )


# (trades while emsweb is down, canceled by hand after them, final status, filled)
OUTCOMES = {
    "filled": (["0.005", "0.015"], False, S.FILLED, "0.02"),
    "traded-then-canceled": (["0.005"], True, S.CANCELED, "0.005"),
}


@pytest.mark.fault(12, "ccxt: an order placed by hand fills (or trades, is canceled) while down")
@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("venue", VENUES)
def test_an_outside_order_finished_while_emsweb_was_down_is_adopted_once_with_its_fills(
    ccxt_fake, venue, outcome
):
    trades, canceled, status, filled = OUTCOMES[outcome]
    sim, account = sim_account(ccxt_fake, venue)
    # The desk trades this market through emsweb (Binance's trades are read per such market).
    ours = sim_submit(account, "ours")
    order_route(order_id=ours.pk)

    # emsweb is down: an order is placed by hand and trades; it fills, or is canceled by hand.
    by_hand = sim.place_by_hand("SELL", "0.02", "51000")
    for amount in trades:
        sim.fill(by_hand, amount)
    if canceled:
        sim.cancel_by_hand(by_hand)
    violations = "\n".join(check_invariants(account))
    assert f"venue order {by_hand.exchange_order_id} is unknown to emsweb" in violations

    account_sync(account_id=account.pk)

    adopted = Order.objects.get(account=account, exchange_order_id=by_hand.exchange_order_id)
    assert (adopted.origin, adopted.status) == (OrderOrigin.EXTERNAL, status)
    assert (adopted.side, adopted.amount_order, adopted.price) == ("SELL", D("0.02"), D("51000"))
    # amount_open is amount_order - amount_filled, as the contract has it, whatever the status.
    assert (adopted.amount_filled, adopted.amount_open) == (D(filled), D("0.02") - D(filled))
    fills = {fill.trade_id: fill.amount for fill in adopted.fills.all()}
    assert fills == by_hand.trades
    assert adopted.events.filter(note__contains="placed outside emsweb").count() == 1
    assert Order.objects.get(pk=ours.pk).status == S.NEW
    assert_invariants(account)

    # The trades are read again (the fills read overlaps its cursor): nothing changes.
    before = recorded(account)
    account_sync(account_id=account.pk)
    assert recorded(account) == before
    assert_invariants(account)
