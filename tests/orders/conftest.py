from decimal import Decimal

import pytest

from tests.factories import AccountFactory, BalanceFactory, InstrumentFactory


@pytest.fixture
def account():
    """A paper account with BTC/USD and balances read: 100,000 USD and 2 BTC available."""
    account = AccountFactory()
    InstrumentFactory()
    BalanceFactory(account=account, asset_id_exchange="USD", available=Decimal("100000"))
    BalanceFactory(account=account, asset_id_exchange="BTC", available=Decimal("2"))
    return account
