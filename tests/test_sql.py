"""The statements emsweb.sql builds by hand read and write rows exactly as the ORM would: the
same values, converted the same way, on PostgreSQL and SQLite alike."""

from decimal import Decimal

import pytest

from emsweb import sql
from orders.models import Order
from tests.factories import AccountFactory, InstrumentFactory
from venues.paper.models import PaperMarket

pytestmark = pytest.mark.django_db


def values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def an_order() -> Order:
    order = Order(
        client_order_id="sql-1",
        account=AccountFactory(),
        instrument=InstrumentFactory(),
        side="BUY",
        amount_order=Decimal("0.0123"),
        amount_open=Decimal("0.0123"),
        price=Decimal("49999.5"),
        status="RECEIVED",
    )
    sql.insert(order)
    return order


def test_an_inserted_row_reads_back_through_the_orm_as_it_was_written():
    order = an_order()
    assert order.pk is not None and not order._state.adding
    assert values(Order.objects.get(pk=order.pk)) == values(order)


def test_a_row_read_with_its_related_rows_equals_the_orms_select_related(
    django_assert_num_queries,
):
    order = an_order()
    read = sql.one(Order, "id", order.pk, related=("account", "instrument"))
    expected = Order.objects.select_related("account", "instrument").get(pk=order.pk)
    assert values(read) == values(expected)
    assert values(read.account) == values(expected.account)
    assert values(read.instrument) == values(expected.instrument)
    with django_assert_num_queries(0):
        assert read.account.exchange_id and read.instrument.symbol_id_exchange


def test_a_json_column_is_decoded_and_a_missing_row_is_none():
    market = PaperMarket.objects.create(
        symbol="BTCUSD", mid=Decimal(50000), stepped_at="2026-12-04T00:00:00Z",
        consumed={"bids": ["0.5"], "asks": []},
    )  # fmt: skip
    assert sql.one(PaperMarket, "symbol", "BTCUSD").consumed == market.consumed
    assert sql.one(PaperMarket, "symbol", "NOPE") is None
