"""Working orders are asked for by their statuses, never as "not terminal": PostgreSQL
estimates NOT IN (FILLED, CANCELED, REJECTED) at a quarter of the orders and scans all of them,
where IN (the six others) is an index scan over the few working ones (bench/README.md: 330 ms
against 3 ms over a million orders)."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ExchangeAccount
from orders import selectors
from orders.statuses import TERMINAL_STATUSES, WORKING_STATUSES
from tests.factories import UserFactory
from venues.base import OrdStatus


def test_working_statuses_are_every_status_but_the_terminal_ones():
    assert set(OrdStatus.values) == WORKING_STATUSES | TERMINAL_STATUSES
    assert not WORKING_STATUSES & TERMINAL_STATUSES


def test_the_blotter_and_the_open_order_count_name_the_working_statuses(db):
    user = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        list(selectors.blotter_orders(user=user))
        selectors.open_order_count(accounts=ExchangeAccount.objects.all())
    for query in queries:
        assert '"orders_order"."status" IN (' in query["sql"]
        assert "NOT" not in query["sql"]
