"""Reconciling an order whose routing outcome is unknown, when the venue's lookups mislead:
"not found" for the first lookups of an order that exists, and lookups that fail outright."""

from __future__ import annotations

import time

import pytest

from orders.models import Order
from orders.sync import account_sync
from tests.conftest import wait_for
from tests.reliability.conftest import ACCOUNT, assert_invariants, creates_sent, settle, submit
from venues.base import OrdStatus
from venues.errors import Unreachable
from venues.paper import engine
from venues.paper.adapter import PaperVenue
from venues.paper.models import PaperOrder

S = OrdStatus
pytestmark = [pytest.mark.pipeline]


@pytest.fixture
def unknown_outcome(account):
    """An order the venue accepted, whose answer was lost: emsweb has it ROUTING. An IOC that
    could not trade, so it is neither in the venue's open orders nor in its trades: only a
    lookup by client order id can tell what became of it."""
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_AFTER_ACCEPT", fault_delay_ms=0)
    order = submit(account, "lookup-misleads", time_in_force="IMMEDIATE_OR_CANCEL")
    wait_for(lambda: Order.objects.get(pk=order.pk).outcome_unknown_at, what="the lost answer")
    engine.set_knobs(ACCOUNT, fault="NONE")
    assert PaperOrder.objects.filter(client_order_id=order.client_order_id).exists()
    return order


@pytest.mark.fault(8, "4 'not found' lookups of an existing order")
def test_four_not_found_answers_for_an_order_that_exists_do_not_reject_it(
    account, unknown_outcome, monkeypatch
):
    real_lookup = PaperVenue.lookup
    answers = {"misleading": 4}

    def lookup(self, client_order_id, symbol_id_exchange):
        if answers["misleading"]:
            answers["misleading"] -= 1
            return None
        return real_lookup(self, client_order_id, symbol_id_exchange)

    monkeypatch.setattr(PaperVenue, "lookup", lookup)
    order = settle(account, unknown_outcome, S.CANCELED, S.REJECTED)
    assert order.status == S.CANCELED, "rejected as never placed while it was at the venue"
    assert answers["misleading"] == 0
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)


@pytest.mark.fault(8, "lookups failing with network errors")
def test_failed_lookups_are_not_counted_as_not_found(account, unknown_outcome, monkeypatch):
    def lookup(self, client_order_id, symbol_id_exchange):
        raise Unreachable("Exchange is unreachable.")

    monkeypatch.setattr(PaperVenue, "lookup", lookup)
    # Past the never-placed deadline, with more failed lookups than the not-found threshold.
    for _ in range(6):
        account_sync(account_id=account.pk)
        time.sleep(0.5)
    order = Order.objects.get(pk=unknown_outcome.pk)
    assert order.status == S.ROUTING and order.not_found_lookups == 0
    monkeypatch.undo()

    order = settle(account, order, S.CANCELED)
    assert creates_sent(order.client_order_id) == 1
    assert_invariants(account)
