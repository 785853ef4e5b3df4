from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from algos.models import ParentSlice, SliceState, child_client_order_id
from algos.selectors import children, parent_progress
from algos.tasks import TIMED_STEP_MAX, step_at, step_parent
from tests.algos.conftest import run, step, twap
from venues.base import OrdStatus


def test_a_twap_of_one_btc_over_ten_minutes_in_twenty_slices_ends_filled_each_slice_on_time(
    account,
):
    start = timezone.now()
    parent = twap([account], amount="1", duration=600, interval=30, now=start)
    assert parent.slice_count == 20

    run(parent, start, 600 + 30)

    slices = list(ParentSlice.objects.filter(parent=parent))
    assert [s.number for s in slices] == list(range(20))
    assert {s.state for s in slices} == {SliceState.SENT}
    for row in slices:
        assert row.sent_at - row.scheduled_at <= timedelta(seconds=5)
        assert row.scheduled_at == start + timedelta(seconds=30 * row.number)
        assert row.order.client_order_id == child_client_order_id(parent.pk, row.number)
        assert row.order.time_in_force == "IMMEDIATE_OR_CANCEL"
        assert row.amount == Decimal("0.05")
    assert parent_progress(parent).filled == Decimal(1)
    assert parent.status == "Completed"
    assert "Filled 1 of 1" in parent.status_info


def test_a_child_is_a_limit_ioc_at_the_touch_within_the_slippage_cap(account):
    start = timezone.now()
    parent = twap([account], amount="0.2", duration=60, interval=30, now=start)
    step(parent, start)
    child = children(parent).get()
    assert child.status == OrdStatus.FILLED
    assert child.price == Decimal("50260.0")  # best ask 50010 + 0.5 %, rounded down to the tick


def test_a_limit_price_is_never_crossed(account):
    start = timezone.now()
    parent = twap(
        [account], amount="0.2", duration=60, interval=30, now=start, limit_price=Decimal(50005)
    )
    step(parent, start)
    child = children(parent).get()
    assert child.price == Decimal("50005.0")
    assert child.amount_filled == 0  # the ask is above the limit: the IOC canceled unfilled


def test_a_slice_not_sent_on_time_is_missed_and_its_amount_goes_to_the_next(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    step(parent, start + timedelta(seconds=50))  # slice 1 was due at 30 s: 20 s late
    step(parent, start + timedelta(seconds=60))
    slices = {s.number: s for s in ParentSlice.objects.filter(parent=parent)}
    assert slices[1].state == SliceState.MISSED
    assert slices[2].state == SliceState.SENT
    assert slices[2].amount == Decimal("0.5")  # its own 0.25 and the missed 0.25
    assert not children(parent).filter(client_order_id=child_client_order_id(parent.pk, 1))


def test_a_step_run_twice_places_the_slice_once(account):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    step(parent, start + timedelta(seconds=1))
    assert children(parent).count() == 1


def test_a_slice_below_the_venue_minimum_is_merged_and_a_final_remainder_reported_unfilled(
    account,
):
    start = timezone.now()
    # 0.00015 in 3 slices: 0.00005 a slice, below the 0.0001 lot.
    parent = twap([account], amount="0.00015", duration=90, interval=30, now=start)
    run(parent, start, 120)
    states = list(ParentSlice.objects.filter(parent=parent).values_list("state", flat=True))
    assert states == [SliceState.MERGED, SliceState.SENT, SliceState.UNFILLED]
    assert parent.status == "Completed"
    assert "0.00005 left unfilled" in parent.status_info


def test_the_end_policy_cross_sends_the_remainder_once_after_the_last_slice(account):
    start = timezone.now()
    parent = twap(
        [account],
        amount="0.2",
        duration=60,
        interval=30,
        now=start,
        child_style="PASSIVE",
        end_policy="CROSS",
    )
    run(parent, start, 120)
    numbers = list(ParentSlice.objects.filter(parent=parent).values_list("number", "state"))
    assert numbers[-1] == (2, SliceState.SENT)  # the cross, after slices 0 and 1
    assert parent.status == "Completed"
    assert parent_progress(parent).filled == Decimal("0.2")


def test_only_a_step_due_soon_is_timed_a_later_one_is_left_to_beats_tick(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(step_parent, "apply_async", lambda *args, **kwargs: queued.append(kwargs))
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        step_at(1, now + timedelta(seconds=30))
        step_at(1, now + timedelta(hours=1))  # past the broker's visibility timeout
    assert [call["eta"] for call in queued] == [now + timedelta(seconds=30)]
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timedelta(seconds=visibility) > TIMED_STEP_MAX
