"""The checker against a simulated exchange's record: it sees what the exchange holds, so a
scenario ending with it can fail. A fill the database has not heard of yet, and an order placed
outside emsweb, are violations until the sync brings them in; then the checker holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Fill, OrderOrigin
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


@pytest.mark.parametrize("venue", VENUES)
def test_the_checker_sees_fills_and_outside_orders_until_the_sync_records_them(ccxt_fake, venue):
    sim, account = sim_account(ccxt_fake, venue)
    order = sim_submit(account, "checked")
    order_route(order_id=order.pk)
    assert_invariants(account)

    sim.fill(sim.held(order.client_order_id_format_exchange or "checked"), "0.004")
    outside = sim.place_by_hand("SELL", "0.02", "60000")

    violations = "\n".join(check_invariants(account))
    assert "0 filled in emsweb, 0.004 at the venue" in violations
    assert f"venue order {outside.exchange_order_id} is unknown to emsweb" in violations

    account_sync(account_id=account.pk)
    account_sync(account_id=account.pk)

    order.refresh_from_db()
    assert (order.status, order.amount_filled) == (S.PARTIALLY_FILLED, D("0.004"))
    assert Fill.objects.filter(order=order).count() == 1
    assert account.orders.filter(origin=OrderOrigin.EXTERNAL).count() == 1
    assert_invariants(account)
