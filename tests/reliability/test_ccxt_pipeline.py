"""The ccxt path through the real pipeline: orders submitted here are routed by a real Celery
worker process (three pool processes) whose HTTP goes to the simulated exchange served on
localhost, while this process syncs the same account. #6 and #18 again, end to end.

Whether two pool processes sign at the same moment is up to the scheduler, so with the per-key
lock removed this test fails in about half the runs; test_ccxt_nonces.py, whose processes call
the key without pause, fails in every run."""

from __future__ import annotations

import pytest

from orders.models import Order
from orders.sync import account_sync
from tests.conftest import VAR, Worker, wait_for
from tests.reliability.ccxt_venue import ccxt_fake_fixture, sim_account, sim_submit  # noqa: F401
from tests.reliability.conftest import assert_invariants
from tests.venues.conftest import ccxt_settings, fake  # noqa: F401
from tests.venues.fake_http import served
from venues.base import OrdStatus

S = OrdStatus
pytestmark = [pytest.mark.pipeline]
ORDERS = 12


class Switchboard:
    """What the served exchange answers with: the current test's fake."""

    target = None
    unanswered: list[str] = []

    def __call__(self, *args, **kwargs):
        return self.target(*args, **kwargs)


@pytest.fixture(scope="module")
def switchboard():
    board = Switchboard()
    with served(board) as url:
        board.url = url
        yield board


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, switchboard):
    with django_db_blocker.unblock():
        worker = Worker(
            "ccxt",
            concurrency=3,
            log_path=VAR / "test-ccxt-worker.log",
            env={
                "DJANGO_SETTINGS_MODULE": "tests.reliability.ccxt_worker_settings",
                "EMSWEB_TEST_EXCHANGE_URL": switchboard.url,
            },
        )
    yield worker
    worker.stop()


@pytest.fixture
def kraken(ccxt_fake, switchboard, pipeline, settings):
    settings.EMSWEB_CCXT_BURST_SECONDS = 1e6  # as the worker's: syncing here never starves it
    switchboard.target = ccxt_fake
    switchboard.unanswered = []
    yield sim_account(ccxt_fake, "KRAKEN")
    switchboard.target = None


def settle(account, orders: list[Order], status: str) -> None:
    """Sync here (as beat would have a worker do) until every order has `status`."""

    def settled():
        account_sync(account_id=account.pk)
        now = Order.objects.filter(pk__in=[order.pk for order in orders])
        for order in now.filter(status=S.REJECTED):
            raise AssertionError(f"{order} rejected: {order.error_message}")
        return all(order.status == status for order in now)

    wait_for(settled, timeout=60, what=f"{len(orders)} orders to be {status}")


@pytest.mark.fault(18, "worker pool processes and a sync on one Kraken key at once")
def test_orders_routed_by_several_worker_processes_on_one_kraken_key_meet_no_nonce_error(
    kraken, switchboard
):
    sim, account = kraken
    orders = [sim_submit(account, f"pool-{n}") for n in range(ORDERS)]

    settle(account, orders, S.NEW)

    assert sim.nonce_errors == 0 and switchboard.unanswered == []
    assert sorted(sim.creates.values()) == [1] * ORDERS
    assert_invariants(account)


@pytest.mark.fault(6, "503 unknown on a create routed by a worker")
def test_a_create_answered_503_by_the_venue_in_a_worker_is_unknown_then_found(kraken):
    sim, account = kraken
    sim.next_create(takes=True, status=503, body={"error": ["EService:Unavailable"]})
    order = sim_submit(account, "worker-503")
    wait_for(lambda: Order.objects.get(pk=order.pk).outcome_unknown_at, what="the unknown outcome")
    assert Order.objects.get(pk=order.pk).status == S.ROUTING

    settle(account, [order], S.NEW)

    assert len(sim.create_requests()) == 1
    assert S.REJECTED not in order.events.values_list("status", flat=True)
    assert_invariants(account)
