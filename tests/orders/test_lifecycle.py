from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orders import lifecycle
from orders.lifecycle import OrderState, Overfill, path_to, plan_report
from orders.models import EventCause, Fill
from orders.statuses import TERMINAL_STATUSES, TRANSITIONS
from tests.factories import OrderFactory
from venues.base import OrdStatus, VenueFill, VenueOrder

S = OrdStatus
AMOUNT = Decimal("10")
# What a venue itself reports; RECEIVED, ROUTING, ROUTED and PENDING_CANCEL are ours alone.
VENUE_STATUSES = frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.REJECTED})


def report(status, filled="0", fills=(), **fields):
    return VenueOrder(
        client_order_id="c1",
        exchange_order_id="X1",
        symbol_id_exchange="BTCUSD",
        status=status,
        side="BUY",
        amount=AMOUNT,
        price=Decimal("100"),
        amount_filled=Decimal(filled),
        fills=tuple(fills),
        **fields,
    )


def fill(trade_id, amount, price="100"):
    from django.utils import timezone

    return VenueFill(
        trade_id=trade_id,
        client_order_id="c1",
        exchange_order_id="X1",
        time=timezone.now(),
        price=Decimal(price),
        amount=Decimal(amount),
    )


def test_the_table_is_the_contracts_plus_routing_to_rejected():
    assert TRANSITIONS[S.ROUTING] == {S.ROUTED, S.REJECTED}
    assert TRANSITIONS[S.RECEIVED] == {S.ROUTING, S.REJECTED}
    assert all(not TRANSITIONS[status] for status in TERMINAL_STATUSES)


def test_a_routing_order_reported_new_passes_through_routed():
    assert path_to(S.ROUTING, S.NEW) == (S.ROUTED, S.NEW)


def test_a_venue_report_of_new_moves_a_routing_order_to_new_via_routed():
    plan = plan_report(OrderState(S.ROUTING, AMOUNT, Decimal(0)), S.NEW, Decimal(0))
    assert plan.path == (S.ROUTED, S.NEW)


def test_an_ioc_that_traded_then_canceled_shows_the_partial_fill():
    plan = plan_report(OrderState(S.ROUTING, AMOUNT, Decimal(0)), S.CANCELED, Decimal(4))
    assert plan.path == (S.ROUTED, S.PARTIALLY_FILLED, S.CANCELED)
    assert plan.amount_filled == 4


def test_a_canceled_report_with_the_whole_amount_filled_is_a_fill():
    for status in (S.ROUTING, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL):
        plan = plan_report(OrderState(status, AMOUNT, Decimal(4)), S.CANCELED, AMOUNT)
        assert plan.status_after == S.FILLED and plan.amount_filled == AMOUNT


def test_a_late_new_report_does_not_regress_a_partially_filled_order():
    assert (
        plan_report(OrderState(S.PARTIALLY_FILLED, AMOUNT, Decimal(3)), S.NEW, Decimal(0)) is None
    )


@pytest.mark.fault(13, "reports after FILLED")
def test_a_filled_order_ignores_every_later_report():
    for status in VENUE_STATUSES:
        assert plan_report(OrderState(S.FILLED, AMOUNT, AMOUNT), status, Decimal(2)) is None


def test_an_open_report_does_not_undo_a_pending_cancel():
    state = OrderState(S.PENDING_CANCEL, AMOUNT, Decimal(0))
    assert plan_report(state, S.NEW, Decimal(0)) is None


def test_a_fill_during_a_pending_cancel_is_shown():
    plan = plan_report(OrderState(S.PENDING_CANCEL, AMOUNT, Decimal(0)), S.NEW, Decimal(2))
    assert plan.path == (S.PARTIALLY_FILLED,)


def test_a_venue_cannot_reject_an_order_it_already_accepted():
    assert plan_report(OrderState(S.NEW, AMOUNT, Decimal(0)), S.REJECTED, Decimal(0)) is None


def test_an_overfill_is_refused_loudly_not_clamped():
    with pytest.raises(Overfill):
        plan_report(OrderState(S.NEW, AMOUNT, Decimal(0)), S.PARTIALLY_FILLED, Decimal(11))


internal_or_venue = st.one_of(
    st.tuples(st.sampled_from(sorted(VENUE_STATUSES)), st.integers(0, 10)),
    st.tuples(st.just("INTERNAL"), st.sampled_from(sorted(S.values))),
)


@pytest.mark.fault(13, "1,000 random event sequences (hypothesis)")
@settings(max_examples=1000)
@given(st.lists(internal_or_venue, max_size=30))
def test_any_sequence_of_events_follows_the_table_and_never_regresses(events):
    state = OrderState(S.RECEIVED, AMOUNT, Decimal(0))
    for kind, value in events:
        before = state
        if kind == "INTERNAL":
            # An internal transition happens only where the table allows it.
            if value in TRANSITIONS[state.status]:
                state = OrderState(value, AMOUNT, state.amount_filled)
        else:
            try:
                plan = plan_report(state, kind, Decimal(value))
            except Overfill:
                plan = None
            if plan is not None:
                current = state.status
                for status in plan.path:
                    assert status in TRANSITIONS[current], (current, status)
                    current = status
                state = OrderState(current, AMOUNT, plan.amount_filled)
        if before.status in TERMINAL_STATUSES:
            assert state == before
        assert before.amount_filled <= state.amount_filled <= AMOUNT


@pytest.mark.django_db
def test_apply_report_records_status_history_fills_and_average_price():
    order = OrderFactory(status=S.ROUTING, amount_order=AMOUNT, amount_open=AMOUNT)
    applied = lifecycle.apply_report(
        order.pk,
        report(S.PARTIALLY_FILLED, "4", fills=[fill("t1", "1", "99"), fill("t2", "3", "100")]),
        cause=EventCause.ROUTE,
    )
    order.refresh_from_db()
    assert applied
    assert order.status == S.PARTIALLY_FILLED
    assert (order.amount_filled, order.amount_open) == (4, 6)
    assert order.avg_px == Decimal("99.75")
    assert order.exchange_order_id == "X1"
    assert [event.status for event in order.events.all()] == [S.ROUTED, S.PARTIALLY_FILLED]


@pytest.mark.django_db
def test_a_replayed_fill_counts_once():
    order = OrderFactory(status=S.NEW, amount_order=AMOUNT, amount_open=AMOUNT)
    assert lifecycle.apply_fills(order.pk, [fill("t1", "2")], cause=EventCause.SYNC)
    assert not lifecycle.apply_fills(order.pk, [fill("t1", "2")], cause=EventCause.SYNC)
    order.refresh_from_db()
    assert order.amount_filled == 2
    assert Fill.objects.filter(order=order).count() == 1


@pytest.mark.fault(13, "two writers race one transition")
@pytest.mark.django_db
def test_a_guarded_transition_happens_once():
    order = OrderFactory(status=S.RECEIVED)
    claim = {"to": S.ROUTING, "cause": EventCause.ROUTE, "allowed_from": {S.RECEIVED}}
    assert lifecycle.transition(order.pk, **claim)
    assert not lifecycle.transition(order.pk, **claim)
    assert order.events.filter(status=S.ROUTING).count() == 1


@pytest.mark.django_db
def test_a_stale_writer_loses_to_the_version_check_and_replans():
    order = OrderFactory(status=S.NEW, amount_order=AMOUNT, amount_open=AMOUNT)
    lifecycle.apply_report(order.pk, report(S.FILLED, "10"), cause=EventCause.SYNC)
    assert not lifecycle.apply_report(order.pk, report(S.CANCELED, "0"), cause=EventCause.SYNC)
    order.refresh_from_db()
    assert order.status == S.FILLED
    assert order.amount_filled == AMOUNT


@pytest.mark.django_db
def test_trades_of_a_report_that_changes_no_amount_are_still_kept():
    order = OrderFactory(status=S.NEW, amount_order=AMOUNT, amount_open=AMOUNT)
    lifecycle.apply_report(order.pk, report(S.PARTIALLY_FILLED, "4"), cause=EventCause.SYNC)
    lifecycle.apply_report(
        order.pk,
        report(S.PARTIALLY_FILLED, "4", fills=[fill("t1", "4")]),
        cause=EventCause.SYNC,
    )
    order.refresh_from_db()
    assert order.amount_filled == 4
    assert list(order.fills.values_list("trade_id", flat=True)) == ["t1"]
