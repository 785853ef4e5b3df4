"""RELIABILITY.md §7 #12 on the ccxt path: while emsweb is down (no sync), an order placed by
hand at the exchange fills completely, so the open list never shows it and only its trades
tell of it. Those trades carry the exchange's order id and no client order id: the next sync
looks the order up by that id, adopts it once as placed outside emsweb with its fills, and the
sync after that changes nothing. Kraken and Binance, each ending with the checker against the
simulated exchange's own record."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Fill, Order, OrderEvent, OrderOrigin
from orders.services import order_route
from orders.sync import account_sync
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
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


@pytest.mark.fault(12, "ccxt: an order placed by hand fills completely while emsweb is down")
@pytest.mark.parametrize("venue", ["KRAKEN", "BINANCE"])
def test_an_outside_order_filled_while_emsweb_was_down_is_adopted_once_with_its_fills(
    ccxt_fake, venue
):
    sim, account = sim_account(ccxt_fake, venue)
    # The desk trades this market through emsweb (Binance's trades are read per such market).
    ours = sim_submit(account, "ours")
    order_route(order_id=ours.pk)

    # emsweb is down: an order is placed by hand and fills completely, in two trades.
    by_hand = sim.place_by_hand("SELL", "0.02", "51000")
    sim.fill(by_hand, "0.005")
    sim.fill(by_hand, "0.015")
    violations = "\n".join(check_invariants(account))
    assert f"venue order {by_hand.exchange_order_id} is unknown to emsweb" in violations

    account_sync(account_id=account.pk)

    adopted = Order.objects.get(account=account, exchange_order_id=by_hand.exchange_order_id)
    assert (adopted.origin, adopted.status) == (OrderOrigin.EXTERNAL, S.FILLED)
    assert (adopted.side, adopted.amount_order, adopted.price) == ("SELL", D("0.02"), D("51000"))
    assert (adopted.amount_filled, adopted.amount_open) == (D("0.02"), D(0))
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
