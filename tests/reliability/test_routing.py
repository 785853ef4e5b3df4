"""Faults on the way to the venue: the create sent twice, its answer lost, the request lost, and
the worker killed after the venue accepted or after the claim. Each ends with the checker.

tests/orders covers the same faults for the order's history; these add the venue-wide
invariants, and the request log's "no second create"."""

from __future__ import annotations

import pytest

from orders.models import Order, RejectReason
from orders.services import OrderInvalid
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


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker):
    """One pool process, so that killing it kills the task under test."""
    with django_db_blocker.unblock():
        worker = Worker("routing", concurrency=1, log_path=VAR / "test-routing-worker.log")
    yield worker
    worker.stop()


@pytest.mark.fault(1, "same submit twice; same id, other body")
def test_the_same_submit_twice_makes_one_order_and_another_body_is_refused(account):
    # The API fingerprints each request's body; the same body again is a safe retry.
    first = submit(account, "double", request_hash="body-1")
    again = submit(account, "double", request_hash="body-1")
    assert again.pk == first.pk
    with pytest.raises(OrderInvalid) as refused:
        submit(account, "double", request_hash="body-2", price="48000")
    assert "client_order_id" in refused.value.errors
    wait_status(first, S.NEW)
    assert Order.objects.filter(client_order_id="double").count() == 1
    assert creates_sent("double") == 1
    assert_invariants(account)


@pytest.mark.fault(4, "venue accepts, answer lost")
def test_a_lost_answer_leaves_the_outcome_unknown_then_takes_the_venues_word(account):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=0)
    order = submit(account, "lost-answer")
    wait_for(lambda: Order.objects.get(pk=order.pk).outcome_unknown_at, what="the timeout")
    engine.set_knobs(ACCOUNT, fault="NONE")
    assert Order.objects.get(pk=order.pk).status == S.ROUTING, "unknown is not failed"

    order = settle(account, order, S.NEW)
    assert S.REJECTED not in order.events.values_list("status", flat=True)
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)


@pytest.mark.fault(5, "request lost before the venue")
def test_a_lost_request_is_never_placed_only_after_the_deadline_and_n_lookups(account, settings):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_BEFORE_ACCEPT", fault_delay_ms=0)
    order = submit(account, "lost-request")
    wait_for(lambda: Order.objects.get(pk=order.pk).outcome_unknown_at, what="the timeout")
    engine.set_knobs(ACCOUNT, fault="NONE")

    order = settle(account, order, S.REJECTED)
    assert order.reject_reason == RejectReason.NEVER_PLACED
    assert order.not_found_lookups >= settings.EMSWEB_NOT_FOUND_LOOKUPS
    rejected_at = order.events.get(status=S.REJECTED).at
    waited = (rejected_at - order.routing_started_at).total_seconds()
    assert waited >= settings.EMSWEB_NEVER_PLACED_AFTER
    assert creates_sent(order.client_order_id) == 0
    assert_invariants(account)


@pytest.mark.fault(2, "SIGKILL pool process after the venue's ack")
def test_a_worker_killed_after_the_venue_accepted_sends_no_second_create(account, pipeline):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=15000)
    order = submit(account, "killed-after-accept")
    wait_for(
        lambda: PaperOrder.objects.filter(client_order_id=order.client_order_id).exists(),
        what="the venue to accept",
    )
    pipeline.kill_pool_process()
    engine.set_knobs(ACCOUNT, fault="NONE")
    wait_for(lambda: "WorkerLostError" in pipeline.output(), what="the worker to notice")

    order = settle(account, order, S.NEW)
    assert order.exchange_order_id
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)


@pytest.mark.fault(3, "SIGKILL pool process after the claim")
def test_a_worker_killed_after_the_claim_sends_nothing_and_ends_never_placed(account, pipeline):
    engine.set_knobs(ACCOUNT, latency_ms=15000)
    order = wait_status(submit(account, "killed-after-claim"), S.ROUTING)
    pipeline.kill_pool_process()
    engine.set_knobs(ACCOUNT, latency_ms=0)

    order = settle(account, order, S.REJECTED)
    assert order.reject_reason == RejectReason.NEVER_PLACED
    assert "Safe to submit again" in order.error_message
    assert creates_sent(order.client_order_id) == 0
    assert_invariants(account)
