"""The order worker on Celery's threads pool (as `make run` and docker-compose.yml run it): a
worker killed with SIGKILL takes every task in flight with it, and no pool process is left to
report the loss (`reject_on_worker_lost` needs one), so the broker keeps the messages unacked
until its visibility timeout. Nothing may wait for that: the sync settles an order killed after
its claim (scenarios 2 and 3, as test_routing.py does for a prefork pool process), and the
sweeper queues again an order killed before it.

Each test kills the worker and starts another in its place, as the launcher or the container's
restart policy does."""

from __future__ import annotations

import os
import signal
import time

import pytest

from emsweb import watchdog
from orders.gate import reconciliations_forget, sync_running
from orders.models import Order, RejectReason
from orders.services.sweep import orders_sweep_received
from tests.conftest import VAR, Worker, wait_for
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
# A sync killed mid-way holds its account's lock until it expires: short here, 60 s by default.
SYNC_LOCK_SECONDS = 3


class Workers:
    """The order worker on the threads pool, killed and replaced."""

    def __init__(self, **env: str):
        self.started: list[Worker] = []
        self.start(**env)

    @property
    def current(self) -> Worker:
        return self.started[-1]

    def start(self, **env: str) -> Worker:
        worker = Worker(
            f"threads{len(self.started)}",
            concurrency=2,
            pool="threads",
            log_path=VAR / f"test-threads-worker-{len(self.started)}.log",
            env={"EMSWEB_SYNC_LOCK_SECONDS": str(SYNC_LOCK_SECONDS), **env},
        )
        self.started.append(worker)
        return worker

    def kill_and_replace(self) -> Worker:
        assert self.current.pool_pids() == [], "a threads pool has no pool process"
        os.kill(self.current.process.pid, signal.SIGKILL)
        self.current.process.wait(timeout=10)
        return self.start()

    def stop(self) -> None:
        for worker in self.started:
            worker.stop()


@pytest.fixture
def celery_worker(request, django_db_setup, django_db_blocker):
    env = getattr(request, "param", {})
    with django_db_blocker.unblock():
        workers = Workers(**env)
    yield workers
    workers.stop()


@pytest.fixture
def short_sync_lock(settings):
    settings.EMSWEB_SYNC_LOCK_SECONDS = SYNC_LOCK_SECONDS


@pytest.mark.fault(2, "SIGKILL the threads-pool worker after the venue's ack")
def test_a_threads_worker_killed_after_the_venue_accepted_sends_no_second_create(account, pipeline):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=15000)
    order = submit(account, "threads-killed-after-accept")
    wait_for(
        lambda: PaperOrder.objects.filter(client_order_id=order.client_order_id).exists(),
        what="the venue to accept",
    )
    pipeline.kill_and_replace()
    engine.set_knobs(ACCOUNT, fault="NONE")

    order = settle(account, order, S.NEW)
    assert order.exchange_order_id
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)


@pytest.mark.fault(3, "SIGKILL the threads-pool worker after the claim")
def test_a_threads_worker_killed_after_the_claim_sends_nothing_and_ends_never_placed(
    account, pipeline
):
    engine.set_knobs(ACCOUNT, latency_ms=15000)
    order = wait_status(submit(account, "threads-killed-after-claim"), S.ROUTING)
    pipeline.kill_and_replace()
    engine.set_knobs(ACCOUNT, latency_ms=0)

    order = settle(account, order, S.REJECTED)
    assert order.reject_reason == RejectReason.NEVER_PLACED
    assert "Safe to submit again" in order.error_message
    assert creates_sent(order.client_order_id) == 0
    assert_invariants(account)


@pytest.mark.fault(3, "SIGKILL the threads-pool worker before the claim (its message unacked)")
def test_a_threads_worker_killed_before_the_claim_leaves_the_order_to_the_sweeper(
    account, pipeline, short_sync_lock
):
    # A worker that finds the account's gate closed reconciles it before it claims: slowly here.
    engine.set_knobs(ACCOUNT, latency_ms=15000)
    reconciliations_forget()
    order = submit(account, "threads-killed-before-claim")
    wait_for(lambda: sync_running(account_id=account.pk), what="the worker to reconcile")
    pipeline.kill_and_replace()
    engine.set_knobs(ACCOUNT, latency_ms=0)
    assert Order.objects.get(pk=order.pk).status == S.RECEIVED

    def routed() -> bool:
        orders_sweep_received()  # as beat has it run
        order.refresh_from_db()
        return order.status not in (S.RECEIVED, S.ROUTING)

    wait_for(routed, timeout=60, what=f"{order} to be queued again and routed")
    assert order.status == S.NEW
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)


def test_a_task_is_overdue_only_past_the_limit_and_until_it_ends():
    watchdog.task_started("a-task")
    now = time.monotonic()
    assert watchdog.tasks_overdue(60, now) == []
    assert watchdog.tasks_overdue(60, now + 61) == ["a-task"]
    watchdog.task_ended("a-task")
    assert watchdog.tasks_overdue(60, now + 61) == []


@pytest.mark.fault(3, "a threads-pool task stalled past the hard time limit (watchdog)")
@pytest.mark.parametrize(
    "celery_worker",
    [{"CELERY_TASK_SOFT_TIME_LIMIT": "2", "CELERY_TASK_TIME_LIMIT": "3"}],
    indirect=True,
)
def test_a_threads_worker_whose_task_outlives_the_time_limit_ends_and_sends_nothing(
    account, pipeline
):
    """The threads pool enforces no time limit; the watchdog ends the process, as prefork's
    hard limit ends a pool process, so a stalled send can never go out late."""
    engine.set_knobs(ACCOUNT, latency_ms=15000)
    order = wait_status(submit(account, "threads-past-the-limit"), S.ROUTING)
    pipeline.current.process.wait(timeout=15)
    assert pipeline.current.process.returncode == watchdog.EXIT_CODE
    assert "past the 3 s time limit" in pipeline.current.output()
    engine.set_knobs(ACCOUNT, latency_ms=0)
    pipeline.start()

    order = settle(account, order, S.REJECTED)
    assert order.reject_reason == RejectReason.NEVER_PLACED
    assert creates_sent(order.client_order_id) == 0
    assert_invariants(account)
