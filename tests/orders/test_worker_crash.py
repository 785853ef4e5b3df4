"""A worker killed in the middle of routing loses no order and makes no duplicate at the venue.

The pool process running route_order is SIGKILLed while it waits on the paper exchange: once
after the venue accepted the order (the database never heard back), once before the venue saw
it. acks_late + reject_on_worker_lost hand the message to a fresh pool process, whose guarded
claim finds the order already ROUTING and does nothing; reconciliation settles it from the
venue's own record.
"""

from decimal import Decimal

import pytest

from accounts.models import Balance
from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.models import Order, RejectReason
from orders.services import OrderTicket, order_submit
from orders.sync import account_sync
from tests.conftest import VAR, Worker, wait_for
from venues.base import OrdStatus
from venues.paper import engine
from venues.paper.models import PaperOrder, PaperRequest

S = OrdStatus
ACCOUNT = "PAPER/CRASH"
pytestmark = [pytest.mark.pipeline]


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker):
    """One pool process, so that the test knows which process runs the task."""
    with django_db_blocker.unblock():
        worker = Worker("crash", concurrency=1, log_path=VAR / "test-crash-worker.log")
    yield worker
    worker.stop()


@pytest.fixture
def account(pipeline):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
    return account


def submit(account, client_order_id: str) -> Order:
    ticket = OrderTicket(
        client_order_id=client_order_id,
        symbol="BTCUSD",
        side="BUY",
        amount="0.1",
        price="49000",
    )
    return order_submit(account=account, ticket=ticket)


def submits_received(order: Order) -> int:
    return PaperRequest.objects.filter(
        kind=PaperRequest.Kind.SUBMIT, client_order_id=order.client_order_id
    ).count()


def status_after_syncs(account, order: Order, *wanted: str) -> Order:
    def settled():
        account_sync(account_id=account.pk)
        order.refresh_from_db()
        return order.status in wanted

    wait_for(settled, timeout=30, what=f"{order.client_order_id} to settle as {wanted}")
    return order


def test_killed_after_the_venue_accepted_the_order_is_reconciled_once(account, pipeline):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=15000)
    order = submit(account, "crash-after-accept")
    wait_for(
        lambda: PaperOrder.objects.filter(client_order_id=order.client_order_id).exists(),
        what="the venue to accept the order",
    )
    pipeline.kill_pool_process()
    engine.set_knobs(ACCOUNT, fault="NONE")
    # The redelivered task finds the order claimed and leaves it alone.
    wait_for(lambda: "WorkerLostError" in pipeline.output(), what="the worker to notice")
    assert Order.objects.get(pk=order.pk).status == S.ROUTING

    order = status_after_syncs(account, order, S.NEW)
    assert list(order.events.values_list("status", flat=True)) == [
        S.RECEIVED, S.ROUTING, S.ROUTED, S.NEW,
    ]  # fmt: skip
    assert PaperOrder.objects.filter(client_order_id=order.client_order_id).count() == 1
    assert submits_received(order) == 1, "the create must never be sent twice"


def test_killed_before_the_venue_saw_the_order_it_ends_never_placed(account, pipeline):
    engine.set_knobs(ACCOUNT, latency_ms=15000)
    order = submit(account, "crash-before-send")
    wait_for(lambda: Order.objects.get(pk=order.pk).status == S.ROUTING, what="the claim")
    pipeline.kill_pool_process()
    engine.set_knobs(ACCOUNT, latency_ms=0)

    order = status_after_syncs(account, order, S.REJECTED)
    assert order.reject_reason == RejectReason.NEVER_PLACED
    assert not PaperOrder.objects.filter(client_order_id=order.client_order_id).exists()
    assert submits_received(order) == 0, "a claimed order is never re-sent"
