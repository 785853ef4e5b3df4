"""Sixteen clients submitting at once cannot together pass a limit that each alone would pass:
each submit locks its scopes' usage rows (SELECT … FOR UPDATE) in the transaction that writes
its order, so the counting and the writing of one scope's orders take turns. On PostgreSQL (CI)
that is the row lock at work; on SQLite, whose transactions the settings make IMMEDIATE, one
writer at a time."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from orders.models import Order
from orders.services import OrderInvalid, order_submit
from risk.models import RiskUsage

from .conftest import ticket

CLIENTS = 16


def submit_at_once(account, user) -> list[str]:
    """Sixteen submits released together; what each got: an order, or the refusal's field."""
    start = threading.Barrier(CLIENTS)

    def submit(n: int) -> str:
        try:
            start.wait()
            order_submit(account=account, ticket=ticket(f"c-{n}"), user=user)
            return "accepted"
        except OrderInvalid as invalid:
            return ", ".join(invalid.errors)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(submit, range(CLIENTS)))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("scope", "limit", "value", "accepted", "field"),
    [
        ("account", "max_working_orders", 5, 5, "exchange_id"),
        ("desk", "max_orders_per_second", 4, 4, "exchange_id"),
        ("desk", "max_orders_per_minute", 6, 6, "exchange_id"),
        ("trader", "max_daily_notional_usd", Decimal("17500"), 3, "amount_order"),  # 5,000 each
    ],
)
def test_sixteen_concurrent_submits_cannot_together_pass_a_limit(
    scope, limit, value, accepted, field, account, trader, set_limits
):
    set_limits(**{"account": {"account": account}, "trader": {"user": trader}}.get(scope, {}),
               **{limit: value})  # fmt: skip
    with time_machine.travel(datetime(2026, 12, 3, 10, 0, tzinfo=UTC), tick=False):
        results = submit_at_once(account, trader)
    assert results.count("accepted") == accepted, results
    assert results.count(field) == CLIENTS - accepted, results
    assert Order.objects.count() == accepted
    used = RiskUsage.objects.get()
    assert used.orders == accepted and used.notional_usd == accepted * Decimal("5000")
