"""A parent's schedule on a real worker, whose pool processes are killed mid-schedule: no slice
is sent twice and none is missed, and the invariant checker, parents included, holds."""

from __future__ import annotations

import threading
import time
from collections import Counter
from decimal import Decimal

import pytest

from accounts.models import Balance
from accounts.services import account_link
from algos.invariants import parent_invariants_check
from algos.models import ParentOrder, ParentSlice, SliceState
from algos.selectors import children
from algos.services import ParentTicket, parent_start
from algos.tasks import algo_tick
from orders.instruments import instruments_refresh
from orders.sync import account_sync
from tests.conftest import wait_for
from tests.faults_table import note_verdict
from venues.base import OrdStatus
from venues.paper import engine
from venues.paper.models import PaperAccount, PaperRequest

SLICES, INTERVAL = 6, 4


@pytest.fixture
def account(pipeline):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/KILLED", parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="the first sync")
    # Each request to the venue takes a while: a kill lands inside a step or a routing.
    PaperAccount.objects.filter(account_key=account.exchange_id).update(latency_ms=300)
    return account


class Beat(threading.Thread):
    """What beat does for the algorithms: the tick, twice a second."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            algo_tick.delay()


def _state(parent: ParentOrder) -> str:
    parent.refresh_from_db()
    rows = ParentSlice.objects.filter(parent=parent).values_list("number", "state", "note")
    kids = children(parent).values_list("client_order_id", "status", "error_message")
    events = parent.events.values_list("status", "note")
    return f"{parent.status} {list(events)} {list(rows)} {list(kids)}"


@pytest.mark.fault(26, "the worker's pool processes SIGKILLed twice during a TWAP")
def test_a_worker_killed_mid_schedule_sends_no_slice_twice_and_misses_none(account, pipeline):
    beat = Beat()
    beat.start()
    try:
        ticket = ParentTicket(
            algorithm="TWAP",
            side="BUY",
            symbol="BTCUSD",
            amount=Decimal("0.06"),
            accounts=(account,),
            duration_seconds=SLICES * INTERVAL,
            interval_seconds=INTERVAL,
        )
        parent = parent_start(ticket=ticket)
        for slices_before_kill in (2, 4):
            wait_for(
                lambda n=slices_before_kill: ParentSlice.objects.filter(parent=parent).count() >= n,
                timeout=30,
                what=f"slice {slices_before_kill}",
            )
            time.sleep(0.2)
            pipeline.kill_pool_process()

        def finished():
            account_sync(account_id=account.pk)
            return ParentOrder.objects.get(pk=parent.pk).is_finished

        try:
            wait_for(finished, timeout=60, what="the parent to finish")
        except AssertionError:
            raise AssertionError(f"not finished: {_state(parent)}") from None
    finally:
        beat.stopped.set()
        beat.join()

    parent.refresh_from_db()
    slices = list(ParentSlice.objects.filter(parent=parent).order_by("number"))
    assert [row.number for row in slices] == list(range(SLICES))
    assert [row.state for row in slices] == [SliceState.SENT] * SLICES, [
        (row.number, row.state, row.note) for row in slices
    ]
    coids = list(children(parent).values_list("client_order_id", flat=True))
    assert len(coids) == len(set(coids)) == SLICES
    creates = Counter(
        PaperRequest.objects.filter(
            kind=PaperRequest.Kind.SUBMIT, client_order_id__in=coids
        ).values_list("client_order_id", flat=True)
    )
    assert set(creates.values()) <= {1}  # no slice sent twice
    # A child whose routing was killed before it reached the venue is never re-sent blindly
    # (orders' own rule): found absent, it is rejected as never placed, not lost silently, and
    # the slices after it ask for its amount.
    for child in children(parent).exclude(client_order_id__in=creates):
        assert (child.status, child.reject_reason) == (OrdStatus.REJECTED, "NEVER_PLACED")
    violations = parent_invariants_check(parent=parent)
    note_verdict("hold" if not violations else f"{len(violations)} violated")
    assert violations == []
    assert parent.status == "Completed"
