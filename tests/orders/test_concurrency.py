from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from orders.gate import sync_lock
from orders.models import Order
from orders.services import OrderInvalid, OrderTicket, order_submit
from orders.sync import account_sync
from tests.factories import AccountFactory, BalanceFactory, InstrumentFactory


@pytest.mark.fault(1, "10 concurrent submits of one client order id")
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_submits_of_one_client_order_id_make_one_order(
    django_capture_on_commit_callbacks,
):
    account = AccountFactory()
    InstrumentFactory()
    BalanceFactory(account=account, asset_id_exchange="USD", available=Decimal("100000"))
    ticket = OrderTicket(
        client_order_id="same", symbol="BTCUSD", side="BUY", amount="0.1", price="40000"
    )

    def submit(_):
        try:
            return order_submit(account=account, ticket=ticket, request_hash="h").pk
        except OrderInvalid as invalid:
            return invalid.errors
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(submit, range(10)))

    assert Order.objects.count() == 1
    assert results == [Order.objects.get().pk] * 10


@pytest.mark.django_db
def test_an_overlapping_sync_of_one_account_is_skipped_not_stacked():
    account = AccountFactory()
    with sync_lock(account.pk) as held:
        assert held
        assert account_sync(account_id=account.pk) is False
