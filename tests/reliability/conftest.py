"""The reliability suite's shared pieces: a linked paper account, and the checks every scenario
ends with (orders.invariants against the paper venue's own record, and its request log)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Balance
from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.invariants import account_invariants_check
from orders.models import Order
from orders.services import OrderTicket, order_submit
from orders.sync import account_sync
from tests.conftest import wait_for
from tests.faults_table import note_verdict
from venues.paper import engine
from venues.paper.models import PaperRequest

ACCOUNT = "PAPER/FAULTS"


@pytest.fixture
def account(pipeline):
    """A paper account linked, and synced once by the worker (balances loaded, trading open)."""
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="the first sync")
    return account


def submit(account, client_order_id: str, request_hash: str = "", **fields) -> Order:
    values = {"symbol": "BTCUSD", "side": "BUY", "amount": "0.1", "price": "49000", **fields}
    ticket = OrderTicket(client_order_id=client_order_id, **values)
    return order_submit(account=account, ticket=ticket, request_hash=request_hash)


def wait_status(order: Order, *statuses: str, timeout: float = 20) -> Order:
    def reached():
        order.refresh_from_db()
        return order.status in statuses

    wait_for(reached, timeout=timeout, what=f"{order} to reach {statuses} (is {order.status})")
    return order


def settle(account, order: Order, *statuses: str, timeout: float = 30) -> Order:
    """Sync the account (in this process, as beat would have the worker do) until settled."""

    def settled():
        account_sync(account_id=account.pk)
        order.refresh_from_db()
        return order.status in statuses

    wait_for(settled, timeout=timeout, what=f"{order} to settle as {statuses}")
    return order


def creates_sent(client_order_id: str) -> int:
    return PaperRequest.objects.filter(
        kind=PaperRequest.Kind.SUBMIT, client_order_id=client_order_id
    ).count()


def check_invariants(account) -> list[str]:
    """The checker's violations, noted for the summary table."""
    violations = account_invariants_check(account=account)
    note_verdict("hold" if not violations else f"{len(violations)} violated")
    return violations


def assert_invariants(account) -> None:
    violations = check_invariants(account)
    assert violations == [], "\n".join(violations)
