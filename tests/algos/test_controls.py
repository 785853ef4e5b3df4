"""Pause, resume, cancel and change of parameters take effect from the next slice; the desk's
controls (kill switch, HALTED, cancel-all) stop a parent for good."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from algos.models import ParentEvent, ParentSlice, SliceState
from algos.selectors import children, parent_progress
from algos.services import (
    ParentInvalid,
    ParentNotChangeable,
    parent_cancel,
    parent_pause,
    parent_resume,
    parent_update,
)
from orders.models import Instrument
from orders.services import orders_cancel_all, orders_kill_switch
from risk.models import RiskLimits
from risk.services import trading_halt
from tests.algos.conftest import route_placed, run, step, twap
from venues.base import OrdStatus


def test_a_paused_parent_sends_nothing_and_resumes_where_it_was_its_end_moved(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    parent_pause(parent=parent, now=start + timedelta(seconds=10))

    step(parent, start + timedelta(seconds=30))
    step(parent, start + timedelta(seconds=60))
    assert children(parent).count() == 1

    resumed_at = start + timedelta(seconds=100)
    parent = parent_resume(parent=parent, now=resumed_at)
    assert parent.status == "Running"
    assert parent.end_at == start + timedelta(seconds=120 + 90)
    step(parent, resumed_at)
    assert children(parent).count() == 1  # slice 1 is due 90 s later than planned, at 120 s
    step(parent, start + timedelta(seconds=120))
    slices = list(ParentSlice.objects.filter(parent=parent).order_by("number"))
    assert [(s.number, s.state) for s in slices] == [(0, "SENT"), (1, "SENT")]
    assert slices[1].scheduled_at == start + timedelta(seconds=30 + 90)
    assert slices[1].amount == Decimal("0.25")
    statuses = ParentEvent.objects.filter(parent=parent, kind="STATUS")
    assert list(statuses.values_list("status", flat=True)) == ["Running", "Paused", "Running"]


def test_resume_is_refused_unless_paused(account):
    parent = twap([account])
    with pytest.raises(ParentNotChangeable):
        parent_resume(parent=parent)


def test_cancel_cancels_the_working_children_and_reports_what_was_filled(account):
    start = timezone.now()
    parent = twap(
        [account], amount="1", duration=120, interval=30, now=start, child_style="PASSIVE"
    )
    step(parent, start)
    working = children(parent).get()
    assert working.status == OrdStatus.NEW

    parent = parent_cancel(parent=parent, now=start + timedelta(seconds=5))
    route_placed()
    working.refresh_from_db()
    assert working.status == OrdStatus.CANCELED
    assert parent.status == "Cancelled"
    assert "Filled 0 of 1" in parent.status_info
    step(parent, start + timedelta(seconds=30))
    assert children(parent).count() == 1


def test_a_change_of_amount_applies_from_the_next_slice(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)  # 0.25
    parent_update(parent=parent, changes={"amount": Decimal("1.5")}, now=start)
    run(parent, start + timedelta(seconds=30), 120)
    amounts = list(ParentSlice.objects.filter(parent=parent).values_list("amount", flat=True))
    # 1.25 left over the 3 slices left, rounded down to the lot; the last takes the rest.
    assert amounts == [Decimal("0.25"), Decimal("0.4166"), Decimal("0.4167"), Decimal("0.4167")]
    assert parent_progress(parent).filled == Decimal("1.5") and parent.status == "Completed"


def test_a_later_end_time_spreads_the_rest_over_more_slices(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    parent_update(parent=parent, changes={"end_time": start + timedelta(seconds=240)}, now=start)
    parent.refresh_from_db()
    assert parent.slice_count == 8
    step(parent, start + timedelta(seconds=30))
    assert ParentSlice.objects.get(parent=parent, number=1).amount == Decimal("0.1071")


def test_a_limit_price_change_applies_to_the_next_child(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    parent_update(parent=parent, changes={"limit_price": Decimal("49000")}, now=start)
    step(parent, start + timedelta(seconds=30))
    prices = list(ParentSlice.objects.filter(parent=parent).values_list("price", flat=True))
    assert prices[0] > Decimal(50000) and prices[1] == Decimal(49000)


def test_a_change_names_the_bad_field_and_writes_nothing(account):
    parent = twap([account])
    with pytest.raises(ParentInvalid) as refused:
        parent_update(parent=parent, changes={"amount": Decimal(-1), "side": "SELL"})
    assert set(refused.value.errors) == {"amount", "side"}
    assert not ParentEvent.objects.filter(parent=parent, kind="PARAMS").exists()


def test_a_slice_the_risk_limits_refuse_everywhere_pauses_the_parent_with_the_reason(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=60, interval=30, now=start)
    RiskLimits.objects.create(account=account, max_order_notional_usd=Decimal(100))
    step(parent, start)
    assert parent.status == "Paused"
    assert "No account can take slice 0" in parent.status_info
    assert not children(parent).exists()


@pytest.mark.parametrize("control", ["kill switch", "halt", "cancel all"])
def test_the_desks_controls_stop_the_parent_no_slice_after(account, control):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    if control == "kill switch":
        orders_kill_switch(accounts=[account])
    elif control == "halt":
        trading_halt(accounts=[account])
    else:
        orders_cancel_all(account=account)
    step(parent, start + timedelta(seconds=30))
    step(parent, start + timedelta(seconds=60))
    assert parent.status == "Stopped"
    assert children(parent).count() == 1
    assert ParentSlice.objects.filter(parent=parent).count() == 1
    assert parent.status_info.startswith("Stopped:")
    assert not ParentSlice.objects.filter(parent=parent, state=SliceState.MISSED).exists()


def test_a_child_the_venue_rejects_pauses_the_parent_with_the_reason(account):
    # emsweb's copy of the market allows a smaller amount than the venue takes: the venue
    # refuses the child, as a real one refuses what it has changed its rules about.
    Instrument.objects.filter(venue="PAPER", symbol_id_exchange="BTCUSD").update(
        lot_size=Decimal("0.00001"), min_amount=Decimal("0.00001"), min_notional=0
    )
    start = timezone.now()
    parent = twap([account], amount="0.00006", duration=60, interval=30, now=start)
    step(parent, start)
    assert children(parent).get().status == OrdStatus.REJECTED
    step(parent, start + timedelta(seconds=1))
    assert parent.status == "Paused"
    assert "rejected" in parent.status_info and "volume" in parent.status_info
    assert ParentSlice.objects.get(parent=parent, number=0).state == SliceState.REJECTED
    step(parent, start + timedelta(seconds=30))
    assert children(parent).count() == 1
