"""The desk's value counts the positions' unrealized PnL: the overview's total and each account's
value, the portfolio snapshot behind its chart, and the page says so."""

from decimal import Decimal

import pytest

from accounts.models import Balance, DeskMember, DeskRole, ExchangeAccount, PortfolioSnapshot
from accounts.pages import overview_context
from accounts.services import portfolio_snapshot_record
from positions.models import Position
from tests.factories import UserFactory
from tests.web.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk_admin():
    admin = UserFactory(username="value-admin")
    DeskMember.objects.create(user=admin, role=DeskRole.ADMIN)
    return admin


@pytest.fixture
def account():
    account = ExchangeAccount.objects.create(exchange_id="PAPER/VALUE", venue="PAPER")
    for asset, balance, rate in (("USDT", "1000", "1"), ("BTC", "0.5", "50000")):
        Balance.objects.create(
            account=account,
            asset_id_exchange=asset,
            balance=Decimal(balance),
            available=Decimal(balance),
            rate_usd=Decimal(rate),
        )
    # A linear long up 198 USDT, an inverse short down 0.001 BTC, and a closed one whose last
    # unrealized figure must not count.
    for symbol, size, pnl, asset in (
        ("BTCUSDT-PERP", "0.2", "198", "USDT"),
        ("XBTUSD", "-1000", "-0.001", "BTC"),
        ("BTCUSDT-261225", "0", "55", "USDT"),
    ):
        Position.objects.create(
            account=account,
            symbol_id_exchange=symbol,
            size=Decimal(size),
            unrealized_pnl=Decimal(pnl),
            settlement_asset=asset,
        )
    return account


def test_the_total_value_counts_the_unrealized_pnl(account, desk_admin):
    context = overview_context(user=desk_admin)
    # Balances 1000 * 1 + 0.5 * 50000 = 26000; unrealized 198 * 1 - 0.001 * 50000 = 148.
    assert context["unrealized_usd"] == Decimal(148)
    assert context["total_usd"] == Decimal(26148)
    (row,) = context["accounts"]
    assert row.usd == Decimal(26148)

    page = client_for(desk_admin).get("/").content.decode()
    assert 'id="total-value">26,148.00 USD<' in page
    assert "balances + unrealized PnL of the positions (148.00 USD)" in page


def test_the_portfolio_snapshot_counts_it_too(account):
    portfolio_snapshot_record()
    assert PortfolioSnapshot.objects.get().total_usd == Decimal("26148.00")
