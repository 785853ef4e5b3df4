"""orders.compiled.Prepared: a query compiled once with markers answers, for any values, what
the ORM answers for the query built with them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from orders.compiled import Prepared
from orders.funds import _ORDERS_SENT_SINCE, _orders_sent_since
from orders.models import Order
from tests.factories import AccountFactory, InstrumentFactory, OrderFactory

pytestmark = pytest.mark.django_db


def by_price(rows):
    return sorted(rows, key=lambda row: (row["price"], row["side"]))


def test_the_orders_sent_since_read_prepared_equals_the_orms_for_every_value():
    now = timezone.now()
    accounts = [AccountFactory(), AccountFactory()]
    btc = InstrumentFactory(base="BTC", quote="USD")
    for n, account in enumerate(accounts):
        OrderFactory(account=account, instrument=btc, side="BUY", price=Decimal(100 + n))
        OrderFactory(account=account, instrument=btc, side="SELL", price=Decimal(200 + n))
        OrderFactory(
            account=account,
            instrument=btc,
            status="NEW",
            routing_started_at=now,
            exec_inst=["MAKER_OR_CANCEL"],
            price=Decimal(300 + n),
        )
    for account in accounts:
        for asset in ("USD", "BTC", "ETH"):
            for read_at in (now - timedelta(minutes=1), now + timedelta(minutes=1)):
                values = {"account_id": account.pk, "asset": asset, "read_at": read_at}
                expected = by_price(_orders_sent_since(**values))
                assert by_price(_ORDERS_SENT_SINCE.dicts(**values)) == expected
    assert Order.objects.count() == 6


@pytest.mark.skipif(connection.vendor != "postgresql", reason="elsewhere the ORM runs the query")
def test_a_marker_the_query_does_not_take_or_two_equal_markers_are_refused(db):
    with pytest.raises(ValueError, match="does not take"):
        Prepared(lambda **_: Order.objects.values("id"), account_id=-1).dicts(account_id=1)
    twins = Prepared(
        lambda *, a, b: Order.objects.filter(client_order_id=a, exchange_order_id=b).values(),
        a="same",
        b="same",
    )
    with pytest.raises(ValueError, match="equal"):
        twins.dicts(a="x", b="y")
