"""The broker lost: Redis flushed, and Redis restarted without persistence, during a burst of
200 submits. Every order that was accepted reaches the venue exactly once (the sweeper queues
again what the broker forgot; the guarded claim makes the repeats harmless).

These tests run their own redis-server on a socket of their own, with a worker pointed at it
and this process's Celery app too, so that the session's broker is never touched.
"""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import pytest
import redis

from accounts.models import Balance
from accounts.services import account_link
from emsweb.celery import app
from emsweb.redis import redis_blocking_client, redis_client
from orders.instruments import instruments_refresh
from orders.models import Order, RejectReason
from orders.services import orders_sweep_received
from orders.sync import account_sync
from tests.conftest import VAR, RedisServer, Worker, wait_for
from tests.reliability.conftest import ACCOUNT, assert_invariants, submit
from venues.base import OrdStatus
from venues.paper import engine
from venues.paper.models import PaperRequest

S = OrdStatus
BURST = 200
pytestmark = [pytest.mark.pipeline]


@pytest.fixture(scope="module")
def own_redis():
    server = RedisServer(VAR / f"test-faults-redis-{os.getpid()}.sock")
    server.start()
    yield server
    server.stop()


def _use_broker(url: str) -> None:
    """Point this process's Celery app and Redis clients at `url`."""
    app.conf.broker_url = url.replace("unix://", "redis+socket://", 1)
    # kombu keeps one pool per broker URL: drop our handles, do not close the pools.
    app._pool = None
    app.amqp._producer_pool = None
    redis_client.cache_clear()
    redis_blocking_client.cache_clear()


class SupervisedWorker:
    """The scenarios' worker, started again if it exits, as compose's `restart: unless-stopped`
    does in production: kombu can take a worker down when the broker goes away while a task's
    acknowledgement is in flight ("Unrecoverable error: AttributeError ... 'hostname'")."""

    def __init__(self, redis_url: str):
        self.redis_url = redis_url
        self.restarts = 0
        self.worker = self._start()

    def _start(self) -> Worker:
        return Worker(
            "broker", concurrency=2, env={"REDIS_URL": self.redis_url},
            log_path=VAR / f"test-broker-worker-{self.restarts}.log",
        )  # fmt: skip

    def keep_alive(self) -> None:
        if self.worker.process.poll() is not None:
            self.restarts += 1
            self.worker = self._start()

    def stop(self) -> None:
        self.worker.stop()


@pytest.fixture
def broker_worker(own_redis, transactional_db):
    own_redis.flushall()  # nothing left queued by the scenario before
    supervised = SupervisedWorker(own_redis.url)
    yield supervised
    supervised.stop()


@pytest.fixture
def broker_account(own_redis, broker_worker, settings, transactional_db):
    """A paper account, and a worker, both on the test's own Redis."""
    session_url = settings.REDIS_URL
    settings.REDIS_URL = own_redis.url
    _use_broker(own_redis.url)
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    try:
        account, _ = account_link(exchange_id=ACCOUNT, parameters={})
        wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
        # The venue answers a little slowly, so that the queue holds a backlog when it is lost.
        engine.set_knobs(ACCOUNT, latency_ms=30)
        yield account
    finally:
        settings.REDIS_URL = session_url
        _use_broker(session_url)


def burst(account, fault) -> tuple[list[str], list[str]]:
    """Submit BURST orders, calling `fault` halfway. Returns the ids accepted and refused."""
    accepted, refused = [], []
    for n in range(BURST):
        if n == BURST // 2:
            fault()
        client_order_id = f"burst-{n}"
        try:
            submit(account, client_order_id, amount="0.001", price=str(40000 + n))
        except (redis.ConnectionError, OSError, Exception) as problem:  # noqa: BLE001
            if "Order" in type(problem).__name__:
                raise  # a validation error is a test bug, not the fault
            refused.append(client_order_id)
        else:
            accepted.append(client_order_id)
    return accepted, refused


def sweep_until_routed(account, worker: SupervisedWorker) -> int:
    """What beat does: sweep RECEIVED orders whose task was lost, sync, until all are placed
    (with the worker kept running, as production's supervisor does). Returns how many times the
    sweeper queued an order again."""
    swept = 0

    def all_placed():
        nonlocal swept
        worker.keep_alive()
        swept += orders_sweep_received()
        account_sync(account_id=account.pk)
        return not Order.objects.filter(status__in={S.RECEIVED, S.ROUTING}).exists()

    wait_for(all_placed, timeout=90, what="every order of the burst to be routed")
    return swept


def assert_each_order_sent_once(accepted: list[str], *, never_placed_allowed=False) -> None:
    orders = Order.objects.filter(client_order_id__in=accepted)
    assert orders.count() == len(accepted), "an accepted order was lost"
    if never_placed_allowed:
        rejected = orders.filter(status=S.REJECTED)
        assert set(rejected.values_list("reject_reason", flat=True)) <= {RejectReason.NEVER_PLACED}
        orders = orders.exclude(status=S.REJECTED)
    assert set(orders.values_list("status", flat=True)) == {S.NEW}
    creates = PaperRequest.objects.filter(kind=PaperRequest.Kind.SUBMIT)
    per_order = creates.values_list("client_order_id", flat=True)
    assert len(per_order) == len(set(per_order)), "a create request was sent twice"


@pytest.mark.fault(14, "Redis FLUSHALL mid-burst of 200 submits")
def test_redis_flushed_during_a_burst_of_200_submits_loses_and_duplicates_nothing(
    broker_account, broker_worker, own_redis
):
    accepted, refused = burst(broker_account, own_redis.flushall)
    assert not refused
    assert sweep_until_routed(broker_account, broker_worker) > 0, "the flush lost no task"
    engine.set_knobs(ACCOUNT, latency_ms=0)
    assert_each_order_sent_once(accepted)
    assert_invariants(broker_account)


@pytest.mark.fault(14, "Redis restarted (no persistence) mid-burst")
def test_redis_restarted_during_a_burst_of_200_submits_loses_and_duplicates_nothing(
    broker_account, broker_worker, own_redis
):
    def restart():
        own_redis.stop()
        time.sleep(0.5)
        own_redis.start()

    restarting = threading.Thread(target=restart)
    accepted, refused = burst(broker_account, restarting.start)
    restarting.join()
    assert sweep_until_routed(broker_account, broker_worker) > 0, "the restart lost no task"
    engine.set_knobs(ACCOUNT, latency_ms=0)

    # A submit that failed while Redis was away may still have recorded its order (the queueing
    # runs after the commit): such an order is routed like any other; none is sent twice.
    recorded = set(
        Order.objects.filter(client_order_id__in=refused).values_list("client_order_id", flat=True)
    )
    # A worker that loses its broker cancels the routing tasks it is running (Celery's
    # worker_cancel_long_running_tasks_on_connection_loss): an order cut off before the venue
    # took it is claimed and unsent, and reconciliation ends it as never placed, safe to resubmit.
    assert_each_order_sent_once(accepted + sorted(recorded), never_placed_allowed=True)
    assert_invariants(broker_account)
