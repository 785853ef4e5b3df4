"""The reports' data: an order's values, its status history and its fills, oldest first, in three
statements whatever their number (two round trips on PostgreSQL: events and fills go together)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from orders.models import Order
from orders.reports import execution_report, history_item, report_data
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
STATEMENTS = 2 if connection.vendor == "postgresql" else 3


def test_a_report_lists_events_and_fills_oldest_first_in_a_fixed_number_of_statements(
    django_assert_num_queries,
):
    now = timezone.now()
    order = OrderFactory(status="PARTIALLY_FILLED", amount_filled=Decimal("0.3"))
    for minutes, status in ((2, "NEW"), (0, "RECEIVED"), (5, "PARTIALLY_FILLED")):
        order.events.create(status=status, at=now + timedelta(minutes=minutes), cause="VENUE")
    for minutes, amount in ((6, "0.2"), (3, "0.1")):
        order.fills.create(
            trade_id=f"t{minutes}",
            time=now + timedelta(minutes=minutes),
            price=Decimal("50000.5"),
            amount=Decimal(amount),
        )
    with django_assert_num_queries(STATEMENTS):
        (data,) = report_data(Order.objects.filter(pk=order.pk))
    report = execution_report(data)
    assert [status for status, _ in report["status_history"]] == [
        "RECEIVED", "NEW", "PARTIALLY_FILLED"
    ]  # fmt: skip
    assert [(fill["amount"], fill["price"]) for fill in report["fills"]] == [
        (Decimal("0.1"), Decimal("50000.5")),
        (Decimal("0.2"), Decimal("50000.5")),
    ]
    row = history_item(data)
    assert row["fillsAmount"] == [Decimal("0.1"), Decimal("0.2")] and row["side"] == 1


def test_orders_without_events_or_fills_report_empty_lists(django_assert_num_queries):
    OrderFactory.create_batch(3)
    with django_assert_num_queries(STATEMENTS):
        data = report_data(Order.objects.order_by("id"))
    assert [(row["events"], row["fills"]) for row in data] == [([], [])] * 3
