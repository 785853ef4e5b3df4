"""Sixteen clients submitting at once cannot together pass a limit that each alone would pass:
each submit locks its scopes' usage rows (SELECT … FOR UPDATE) in the transaction that writes
its order, so the counting and the writing of one scope's orders take turns. On PostgreSQL (CI)
that is the row lock at work; on SQLite, whose transactions the settings make IMMEDIATE, one
writer at a time."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from orders.models import Order
from orders.services import OrderInvalid, order_submit
from risk.models import DESK, RiskUsage, account_scope, trader_scope
from tests import conftest as shared

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


def lock_waits() -> int:
    """Sessions of this database waiting for a lock (a row, or another transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def started_until_blocked(work) -> threading.Thread:
    """`work` in a thread of its own, returned once it waits for a lock or has finished."""
    waiting = lock_waits()
    thread = threading.Thread(target=work)
    thread.start()
    shared.wait_for(lambda: not thread.is_alive() or lock_waits() > waiting, what="a lock wait")
    return thread


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL (CI)")
@pytest.mark.django_db(transaction=True)
def test_a_scope_whose_usage_row_appears_meanwhile_does_not_deadlock_two_submits(
    account, trader, set_limits
):
    """The desk's and the trader's usage rows exist (earlier orders of the day), the account's
    not yet (its first order of the day). A submit that started before another made the
    account's row and one that started after must still take the rows in one order."""
    for scope in ({}, {"account": account}, {"user": trader}):
        set_limits(**scope, max_working_orders=1000)
    today = timezone.now().date()
    for scope in (DESK, trader_scope(trader.pk)):
        RiskUsage.objects.create(scope=scope, day=today)
    results = {}

    def submit(client_order_id):
        try:
            order_submit(account=account, ticket=ticket(client_order_id), user=trader)
            results[client_order_id] = "accepted"
        except Exception as error:  # noqa: BLE001 - what each got is the assertion
            results[client_order_id] = repr(error)
        finally:
            connection.close()

    def account_row_made():
        RiskUsage.objects.bulk_create(
            [RiskUsage(scope=account_scope(account.pk), day=today)], ignore_conflicts=True
        )
        connection.close()

    with psycopg.connect(shared.test_database_url()) as holder:  # an order of the desk, committing
        holder.execute("SELECT 1 FROM risk_riskusage WHERE scope = 'desk' FOR UPDATE")
        threads = [
            started_until_blocked(lambda: submit("before")),
            started_until_blocked(account_row_made),
            started_until_blocked(lambda: submit("after")),
        ]
    for thread in threads:
        thread.join()
    assert results == {"before": "accepted", "after": "accepted"}
    usage = dict(RiskUsage.objects.values_list("scope", "orders"))
    assert usage == {DESK: 2, trader_scope(trader.pk): 2, account_scope(account.pk): 2}
