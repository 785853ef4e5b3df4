"""orders.funds: on PostgreSQL the orders sent since the last balance read are summed in SQL, in
the statement that reads the balance; elsewhere in Python. Both must say the same of every kind
of order (tests/orders/test_available.py checks what they say through the submit)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ExchangeAccount
from orders.funds import available_summed_in_python, available_summed_in_sql, balance_available
from positions.models import Position
from tests.factories import AccountFactory, BalanceFactory, InstrumentFactory, OrderFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite sums in Python only"),
]

ASSETS = ("USD", "BTC", "USDT", "ETH")


@pytest.fixture
def account():
    account = AccountFactory()
    for asset, available in (("USD", "100000"), ("BTC", "2"), ("USDT", "50000")):
        BalanceFactory(account=account, asset_id_exchange=asset, available=Decimal(available))
    read_at = timezone.now() - timedelta(seconds=5)
    ExchangeAccount.objects.filter(pk=account.pk).update(balances_synced_at=read_at)
    return account


def every_kind_of_order(account) -> None:
    """Spot and derivative orders, working and done, filled or not, sent before the read and
    after it, with and without a position's leverage, reduce-only and not."""
    spot = InstrumentFactory()
    linear = InstrumentFactory(
        symbol_id_exchange="BTCUSDT-PERP", symbol_id_coinapi="PAPER_PERP_BTC_USDT",
        kind="PERPETUAL", quote="USDT", settlement_asset="USDT", contract_size=Decimal("0.001"),
    )  # fmt: skip
    inverse = InstrumentFactory(
        symbol_id_exchange="BTCUSD-INV", symbol_id_coinapi="PAPER_PERP_BTC_USD",
        kind="PERPETUAL", inverse=True, settlement_asset="BTC", contract_size=Decimal("100"),
    )  # fmt: skip
    Position.objects.create(account=account, symbol_id_exchange="BTCUSDT-PERP", leverage=7)
    read_at = ExchangeAccount.objects.get(pk=account.pk).balances_synced_at
    before, after = read_at - timedelta(seconds=1), read_at + timedelta(seconds=1)
    price = iter(Decimal(f"{30000 + n}.37") for n in range(1000))
    for instrument in (spot, linear, inverse):
        for side in ("BUY", "SELL"):
            for status, filled in (
                ("RECEIVED", "0"), ("NEW", "0"), ("PARTIALLY_FILLED", "0.3"),
                ("FILLED", "1.7"), ("CANCELED", "0.45"), ("REJECTED", "0"),
            ):  # fmt: skip
                for sent in (before, after):
                    for exec_inst in ([], ["DO_NOT_INCREASE"]):
                        amount = Decimal("1.7")
                        OrderFactory(
                            account=account, instrument=instrument, side=side, status=status,
                            amount_order=amount, amount_filled=Decimal(filled),
                            amount_open=amount - Decimal(filled), price=next(price),
                            avg_px=Decimal("29999.13") if filled != "0" else Decimal(0),
                            exec_inst=exec_inst,
                            routing_started_at=None if status == "RECEIVED" else sent,
                            updated_at=sent,
                        )  # fmt: skip


def test_the_sum_in_sql_says_what_the_sum_in_python_says_of_every_kind_of_order(account):
    every_kind_of_order(account)
    for asset in ASSETS:
        in_sql = available_summed_in_sql(account=account, asset=asset)
        in_python = available_summed_in_python(account=account, asset=asset)
        # PostgreSQL divides to 16 significant digits or more, Python's Decimal to 28.
        assert abs(in_sql - in_python) < Decimal("1e-9"), asset
    assert available_summed_in_sql(account=account, asset="USDT") < Decimal(50000)


def test_with_no_order_or_no_balance_row_or_no_read_both_say_the_same(account):
    for asset in ASSETS:
        assert available_summed_in_sql(account=account, asset=asset) == (
            available_summed_in_python(account=account, asset=asset)
        )
    assert available_summed_in_sql(account=account, asset="ETH") == Decimal(0)
    ExchangeAccount.objects.filter(pk=account.pk).update(balances_synced_at=None)
    assert available_summed_in_sql(account=account, asset="USD") is None
    with pytest.raises(ExchangeAccount.DoesNotExist):
        available_summed_in_sql(account=ExchangeAccount(pk=10**9), asset="USD")


def test_the_funds_read_is_one_statement_however_many_orders(account):
    every_kind_of_order(account)
    with CaptureQueriesContext(connection) as queries:
        balance_available(account=account, asset="USD")
    assert len(queries) == 1
