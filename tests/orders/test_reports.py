"""reports_of, the stream's reader of a few orders at a time, reports exactly what report_data
does (on PostgreSQL it runs its own compiled statements; elsewhere it is report_data)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.services import api_key_create
from orders.models import EventCause, Fill, Order, OrderEvent
from orders.reports import ORDER_VALUES, RELATED_VALUES, report_data, reports_of
from tests.factories import OrderFactory, UserFactory
from venues.base import OrdStatus as S

pytestmark = pytest.mark.django_db


def by_id(rows: list[dict]) -> dict[int, dict]:
    return {row["id"]: row for row in rows}


def test_reports_of_equals_report_data_for_orders_with_events_fills_keys_and_exec_inst():
    key, _ = api_key_create(user=UserFactory(), label="reports")
    now = timezone.now()
    filled = OrderFactory(
        status=S.PARTIALLY_FILLED,
        exec_inst=["MAKER_OR_CANCEL"],
        created_with_key=key,
        amount_filled=Decimal("0.25"),
        amount_open=Decimal("0.75"),
        avg_px=Decimal("50000.5"),
    )
    for n, status in enumerate((S.RECEIVED, S.ROUTING, S.NEW, S.PARTIALLY_FILLED)):
        OrderEvent.objects.create(
            order=filled, status=status, at=now + timedelta(seconds=n), cause=EventCause.ROUTE
        )
    for n in range(2):
        Fill.objects.create(
            order=filled,
            trade_id=f"t{n}",
            time=now + timedelta(seconds=n),
            price=Decimal("50000.5"),
            amount=Decimal("0.125"),
        )
    bare = OrderFactory()
    others = [OrderFactory().pk for _ in range(3)]
    ids = [filled.pk, bare.pk, *others]

    expected = by_id(report_data(Order.objects.filter(pk__in=ids).order_by()))
    assert by_id(reports_of(ids)) == expected
    assert by_id(reports_of([filled.pk])) == {filled.pk: expected[filled.pk]}
    assert expected[filled.pk]["exec_inst"] == ["MAKER_OR_CANCEL"]
    assert len(expected[filled.pk]["fills"]) == 2 and len(expected[filled.pk]["events"]) == 4
    assert expected[filled.pk]["apikey"] == key.prefix


def test_reports_of_no_order_or_a_deleted_one_is_an_empty_report():
    order = OrderFactory()
    gone = order.pk
    order.delete()
    assert reports_of([]) == [] and reports_of([gone]) == []


def test_report_data_reads_each_orders_values_as_the_orm_does():
    key, _ = api_key_create(user=UserFactory(), label="values")
    OrderFactory(created_with_key=key, exec_inst=["MAKER_OR_CANCEL"], exchange_order_id="X-1")
    OrderFactory(status=S.CANCELED, error_message="gone", expire_time=timezone.now())
    orders = Order.objects.order_by("id")
    rows = report_data(orders)
    assert [{k: v for k, v in row.items() if k not in ("events", "fills")} for row in rows] == list(
        orders.values(*ORDER_VALUES, **RELATED_VALUES)
    )
