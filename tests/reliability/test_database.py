"""The database lost between the venue's acknowledgement and the write that records it.

The test holds the order's row lock so that the worker's write waits, and then terminates the
worker's PostgreSQL connection: exactly what a restart or failover does at that moment. The
order stays ROUTING (its claim was committed), nothing is sent again, and reconciliation finds
it at the venue. PostgreSQL only.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from orders.models import Order
from tests.conftest import wait_for
from tests.reliability.conftest import (
    ACCOUNT,
    assert_invariants,
    creates_sent,
    settle,
    submit,
    wait_status,
)
from venues.base import OrdStatus
from venues.paper import engine
from venues.paper.models import PaperOrder

S = OrdStatus
pytestmark = [pytest.mark.pipeline]


def backend_waiting_on_a_lock() -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


@pytest.mark.fault(15, "database connection lost after the venue's ack")
def test_the_database_lost_after_the_venue_acked_is_reconciled_without_a_second_create(
    account, pipeline
):
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    engine.set_knobs(ACCOUNT, latency_ms=1000)  # time to take the row lock after the claim
    order = wait_status(submit(account, "db-lost-after-ack"), S.ROUTING)
    with transaction.atomic():
        Order.objects.select_for_update().get(pk=order.pk)
        worker_backend = wait_for(backend_waiting_on_a_lock, what="the worker's write to wait")
        assert PaperOrder.objects.filter(client_order_id=order.client_order_id).exists()
        terminate(worker_backend)
    engine.set_knobs(ACCOUNT, latency_ms=0)
    wait_for(lambda: "terminating connection" in pipeline.output(), what="the worker to fail")
    assert Order.objects.get(pk=order.pk).status == S.ROUTING

    order = settle(account, order, S.NEW)
    assert list(order.events.values_list("status", flat=True)) == [
        S.RECEIVED, S.ROUTING, S.ROUTED, S.NEW,
    ]  # fmt: skip
    assert order.exchange_order_id
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)
