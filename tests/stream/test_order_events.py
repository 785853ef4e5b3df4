"""Every change of an order the lifecycle writes becomes exactly one event, whose message is the
execution report REST's /v1/orders/status gives at that moment, with "seq" first."""

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import lifecycle
from orders.models import EventCause, Order
from orders.services.route import _outcome_unknown
from orders.sync import _adopt
from stream.models import EventKind, StreamEvent
from stream.sequencer import sequence_pending
from venues.base import OrdStatus, VenueFill, VenueOrder

from .conftest import submit

S = OrdStatus
# Transactional: on PostgreSQL a pass outside an atomic block is the batched one the hubs run.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("hubs_sequence")]


def report(order: Order, status: str, filled="0", fills=(), exchange_order_id="") -> VenueOrder:
    return VenueOrder(
        client_order_id=order.client_order_id,
        exchange_order_id=exchange_order_id,
        symbol_id_exchange="BTCUSD",
        status=status,
        side="BUY",
        amount=order.amount_order,
        price=order.price,
        amount_filled=Decimal(filled),
        fills=tuple(fills),
    )


def trade(order: Order, trade_id: str, amount: str) -> VenueFill:
    return VenueFill(
        trade_id=trade_id,
        client_order_id=order.client_order_id,
        exchange_order_id="X1",
        time=timezone.now(),
        price=Decimal("40000"),
        amount=Decimal(amount),
    )


def one_event_with_rests_report(api, order: Order) -> dict:
    """Number what is pending: exactly one event, for `order`, its message REST's report."""
    (event,) = sequence_pending()
    assert event.kind == EventKind.ORDER and event.account_id == order.account_id
    body = api.get(f"/v1/orders/status/{order.client_order_id}").content.decode()
    assert event.message == f'{{"seq": {event.seq}, {body[1:]}'
    return json.loads(event.message, parse_float=Decimal)


def test_every_step_of_an_orders_life_is_one_event_carrying_rests_report(account, api, trader):
    order = submit(account, "life-1", user=trader)
    assert one_event_with_rests_report(api, order)["status"] == S.RECEIVED

    lifecycle.claim(order, to=S.ROUTING, cause=EventCause.ROUTE, allowed_from={S.RECEIVED})
    assert one_event_with_rests_report(api, order)["status"] == S.ROUTING

    lifecycle.apply_report(order.pk, report(order, S.NEW), cause=EventCause.ROUTE)
    message = one_event_with_rests_report(api, order)
    assert message["status"] == S.NEW and message["exchange_order_id"] is None

    # Only an identifier learned: no status, no amount changes, still news.
    lifecycle.apply_report(order.pk, report(order, S.NEW, exchange_order_id="X1"), cause="SYNC")
    assert one_event_with_rests_report(api, order)["exchange_order_id"] == "X1"

    fill = trade(order, "t1", "0.004")
    lifecycle.apply_report(
        order.pk, report(order, S.PARTIALLY_FILLED, "0.004", [fill], "X1"), cause="SYNC"
    )
    message = one_event_with_rests_report(api, order)
    assert message["status"] == S.PARTIALLY_FILLED and len(message["fills"]) == 1

    # More filled, the status unchanged.
    lifecycle.apply_fills(order.pk, [trade(order, "t2", "0.002")], cause=EventCause.SYNC)
    message = one_event_with_rests_report(api, order)
    assert message["status"] == S.PARTIALLY_FILLED and message["amount_filled"] == Decimal("0.006")

    # A trade the amounts already include, reported late: the fills change, nothing else.
    late = report(order, S.PARTIALLY_FILLED, "0.006", [trade(order, "t3", "0.001")], "X1")
    lifecycle.apply_report(order.pk, late, cause=EventCause.SYNC)
    assert len(one_event_with_rests_report(api, order)["fills"]) == 3

    lifecycle.cancel_request(order.pk, user=trader, cause=EventCause.CANCEL)
    assert one_event_with_rests_report(api, order)["status"] == S.PENDING_CANCEL

    lifecycle.apply_report(order.pk, report(order, S.CANCELED, "0.006"), cause=EventCause.CANCEL)
    message = one_event_with_rests_report(api, order)
    assert message["status"] == S.CANCELED
    assert [status for status, _ in message["status_history"]] == [
        S.RECEIVED, S.ROUTING, S.ROUTED, S.NEW, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.CANCELED
    ]  # fmt: skip


def test_a_rejection_is_one_event(account, api, trader):
    order = submit(account, "rejected-1", user=trader)
    sequence_pending()
    lifecycle.transition(
        order.pk, to=S.REJECTED, cause=EventCause.ROUTE, allowed_from={S.RECEIVED},
        error_message="No.",
    )  # fmt: skip
    message = one_event_with_rests_report(api, order)
    assert message["status"] == S.REJECTED and message["error_message"] == "No."


def test_an_outcome_unknown_is_one_event_since_the_reports_error_message_changes(
    account, api, trader
):
    order = submit(account, "unknown-1", user=trader)
    lifecycle.claim(order, to=S.ROUTING, cause=EventCause.ROUTE, allowed_from={S.RECEIVED})
    sequence_pending()
    _outcome_unknown(order, "timed out")
    message = one_event_with_rests_report(api, order)
    assert message["error_message"] == "Outcome unknown: timed out"


def test_a_report_that_changes_nothing_and_a_write_that_loses_its_guard_add_no_event(
    account, trader
):
    order = submit(account, "nothing-1", user=trader)
    lifecycle.claim(order, to=S.ROUTING, cause=EventCause.ROUTE, allowed_from={S.RECEIVED})
    lifecycle.apply_report(order.pk, report(order, S.NEW), cause=EventCause.ROUTE)
    sequence_pending()
    assert not lifecycle.apply_report(order.pk, report(order, S.NEW), cause=EventCause.SYNC)
    assert not lifecycle.transition(
        order.pk, to=S.ROUTING, cause="ROUTE", allowed_from={S.RECEIVED}
    )
    assert not StreamEvent.objects.filter(seq__isnull=True).exists()
    assert sequence_pending() == []


def test_an_order_found_at_the_venue_and_adopted_is_one_event(account, api, trader):
    venue_order = VenueOrder(
        client_order_id="",
        exchange_order_id="EXT9",
        symbol_id_exchange="BTCUSD",
        status=S.NEW,
        side="BUY",
        amount=Decimal("1"),
        price=Decimal("100"),
        amount_filled=Decimal(0),
    )
    order = _adopt(account, venue_order)
    assert one_event_with_rests_report(api, order)["client_order_id"] == "EXT-EXT9"
