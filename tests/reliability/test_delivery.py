"""Celery gives at-least-once delivery: the same routing task delivered twice at once, and a
task that outlives the broker's visibility timeout, still send one create."""

from __future__ import annotations

import re
import uuid

import pytest

from orders.sync import account_sync
from orders.tasks import route_order
from tests.conftest import VAR, Worker, wait_for
from tests.reliability.conftest import (
    ACCOUNT,
    assert_invariants,
    creates_sent,
    submit,
    wait_status,
)
from venues.base import OrdStatus
from venues.paper import engine

S = OrdStatus
pytestmark = [pytest.mark.pipeline]


def received(worker: Worker, task_id: str) -> int:
    return worker.output().count(f"Task orders.tasks.route_order[{task_id}] received")


def redelivered(worker: Worker) -> bool:
    ids = re.findall(r"Task orders\.tasks\.route_order\[([0-9a-f-]+)\] received", worker.output())
    return len(ids) != len(set(ids))


@pytest.mark.fault(16, "one routing message delivered twice at once")
def test_the_same_routing_message_delivered_twice_at_once_sends_one_create(account, pipeline):
    engine.set_knobs(ACCOUNT, latency_ms=1000)  # both deliveries are in flight together
    order = submit(account, "delivered-twice")
    task_id = str(uuid.uuid4())
    for _ in range(2):
        route_order.apply_async((order.pk,), task_id=task_id)

    wait_for(lambda: received(pipeline, task_id) == 2, what="both deliveries")
    order = wait_status(order, S.NEW)
    engine.set_knobs(ACCOUNT, latency_ms=0)
    assert creates_sent(order.client_order_id) == 1
    assert list(order.events.values_list("status", flat=True)).count(S.ROUTING) == 1
    assert_invariants(account)


@pytest.fixture
def short_visibility_worker(django_db_blocker):
    with django_db_blocker.unblock():
        worker = Worker(
            "visibility",
            concurrency=2,
            log_path=VAR / "test-visibility-worker.log",
            env={"DJANGO_SETTINGS_MODULE": "tests.reliability.short_visibility_settings"},
        )
    yield worker
    worker.stop()


@pytest.mark.fault(16, "task outlives a short visibility timeout")
def test_a_task_outliving_the_visibility_timeout_is_redelivered_but_sends_once(
    account, pipeline, short_visibility_worker
):
    pipeline.stop()  # only the short-timeout worker consumes (this test runs last here)
    account_sync(account_id=account.pk)  # its start closed the gate: open it again
    engine.set_knobs(ACCOUNT, latency_ms=4000)  # the venue takes longer than the timeout
    order = submit(account, "outlives-visibility")

    wait_for(
        lambda: redelivered(short_visibility_worker),
        timeout=20,
        what="the broker to re-deliver the running task",
    )
    order = wait_status(order, S.NEW, timeout=20)
    engine.set_knobs(ACCOUNT, latency_ms=0)
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)
