"""The desk's controls stop a parent at once and exactly: a stop committed before a slice is
claimed stops the parent instead (whatever the step read before), and beat's tick stops the
parents that are not due, paused ones too. Stops are numbered on the scopes they hit
(risk.stops), not looked up in the audit log."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import ExchangeAccount
from algos import step as step_module
from algos.models import ParentSlice, child_client_order_id
from algos.selectors import children
from algos.services import (
    ParentNotChangeable,
    parent_pause,
    parent_resume,
    parents_stop_pending,
)
from algos.step import parent_step
from algos.tick import parents_due
from orders.services import orders_cancel_all, orders_kill_switch
from risk.services import trading_halt, trading_resume
from tests.algos.conftest import linked, step, sync_all, twap
from venues.base import OrdStatus


def test_a_cancel_all_committed_while_the_step_reads_the_books_stops_the_parent_unsent(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    real_candidates = step_module.candidates

    def cancel_all_meanwhile(parent):
        found = real_candidates(parent)
        orders_cancel_all(account=account)
        return found

    with mock.patch.object(step_module, "candidates", cancel_all_meanwhile):
        parent = step(parent, start + timedelta(seconds=30))
    assert parent.status == "Stopped"
    assert parent.status_info.startswith("Stopped: Cancel all on PAPER/ALGO")
    assert children(parent).count() == 1
    assert list(ParentSlice.objects.filter(parent=parent).values_list("number", flat=True)) == [0]


def test_the_tick_stops_a_parent_at_once_not_at_its_next_slice(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=600, interval=60, now=start)
    step(parent, start)
    orders_kill_switch(accounts=[account])

    assert parents_stop_pending(now=start + timedelta(seconds=1)) == 1
    parent.refresh_from_db()
    assert parent.status == "Stopped"
    assert parent.finished_at == start + timedelta(seconds=1)
    assert parents_stop_pending(now=start + timedelta(seconds=2)) == 0


def test_a_paused_parent_is_stopped_too_and_cannot_be_resumed_past_a_stop(account):
    start = timezone.now()
    first = twap([account], amount="1", duration=120, interval=30, now=start)
    second = twap([account], amount="1", duration=120, interval=30, now=start)
    for parent in (first, second):
        parent_pause(parent=parent, now=start)
    trading_halt(accounts=[account], reason="desk review")

    with pytest.raises(ParentNotChangeable, match="stopped: Halted: desk review on PAPER/ALGO"):
        parent_resume(parent=first)
    first.refresh_from_db()
    assert first.status == "Stopped"
    assert parents_stop_pending() == 1
    second.refresh_from_db()
    assert second.status == "Stopped"
    assert not children(first).exists() and not children(second).exists()


def test_a_stop_before_the_parent_started_does_not_stop_it(account):
    orders_cancel_all(account=account)
    start = timezone.now()
    parent = twap([account], amount="1", duration=60, interval=30, now=start)
    assert parents_stop_pending() == 0
    assert step(parent, start).status == "Running"
    assert children(parent).count() == 1


def test_a_stop_on_another_account_leaves_the_parent_running(account):
    other = linked("PAPER/OTHER")
    start = timezone.now()
    parent = twap([account], amount="1", duration=60, interval=30, now=start)
    orders_cancel_all(account=other)
    assert parents_stop_pending() == 0
    assert step(parent, start).status == "Running"


def test_a_kill_switch_over_many_accounts_stops_a_parent_on_the_last_after_trading_resumes(
    account, admin_user
):
    # The audit entry's target holds 255 characters: these names alone are far longer.
    many = [
        ExchangeAccount.objects.create(
            exchange_id=f"PAPER/{'LONG-NAME-' * 5}{n:02d}", venue="PAPER"
        )
        for n in range(10)
    ]
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    orders_kill_switch(accounts=[*many, account])
    trading_resume(user=admin_user)
    for scope in many + [account]:
        trading_resume(user=admin_user, account=scope)

    parent = step(parent, start + timedelta(seconds=30))
    assert parent.status == "Stopped"
    assert "Kill switch on PAPER/ALGO" in parent.status_info
    assert children(parent).count() == 1


def test_the_tick_leaves_a_parent_due_just_now_to_its_timed_step(account, settings):
    settings.EMSWEB_ALGO_TICK_SECONDS = 1.0
    start = timezone.now()
    parent = twap([account], amount="1", duration=60, interval=30, now=start)
    assert parents_due(now=start + timedelta(seconds=0.5)) == []
    assert parents_due(now=start + timedelta(seconds=1.5)) == [
        (parent.pk, start + timedelta(seconds=1.5))
    ]


def test_the_tick_times_the_step_of_a_slice_too_far_off_for_a_timed_step(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=600, interval=120, now=start)
    step(parent, start)
    due = start + timedelta(seconds=120)
    assert parents_due(now=due - timedelta(seconds=5)) == []
    assert parents_due(now=due - timedelta(seconds=0.5)) == [(parent.pk, due)]


@pytest.mark.django_db(transaction=True)
def test_a_cancel_all_racing_a_slices_claim_waits_for_it_and_cancels_the_child(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    placed, canceled_all = threading.Event(), threading.Event()
    real_submit = step_module.order_submit

    def submit_and_hold(**kwargs):
        order = real_submit(**kwargs)
        placed.set()
        # A cancel-all that did not wait for this transaction would be done well within this.
        canceled_all.wait(timeout=3)
        return order

    def cancel_all() -> None:
        try:
            placed.wait(timeout=30)
            orders_cancel_all(account=account)
        finally:
            canceled_all.set()
            connection.close()

    sync_all()
    with ThreadPoolExecutor(max_workers=1) as pool:
        racing = pool.submit(cancel_all)
        with mock.patch.object(step_module, "order_submit", submit_and_hold):
            parent_step(parent_id=parent.pk, now=start + timedelta(seconds=30))
        racing.result()

    child = children(parent).get(client_order_id=child_client_order_id(parent.pk, 1))
    # The cancel-all found it: still RECEIVED then, so it is never sent (REJECTED by the cancel).
    assert child.status == OrdStatus.REJECTED
    assert child.events.filter(cause="CANCEL").exists()
