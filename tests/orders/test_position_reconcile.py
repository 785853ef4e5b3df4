"""Positions reconciled against the desk's own fills: the venue's position moving without a fill
of the desk's (here: the paper exchange's position changed behind emsweb's back, as a liquidation
or a trade placed elsewhere would) raises the account's POSITION alert, once it is read twice;
a position that moves only with the desk's fills raises none."""

from decimal import Decimal

import pytest

from accounts.models import AlertKind, ExchangeAccount
from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.services import OrderTicket, order_route, order_submit
from orders.sync import account_sync
from positions.models import Position
from positions.reconcile import desk_fills_net, positions_reconcile
from venues.base import VenuePosition
from venues.paper import engine
from venues.paper.models import PaperPosition

PERP = "PAPER_PERP_BTC_USDT"
SYMBOL = "BTCUSDT-PERP"


@pytest.fixture
def account(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid(SYMBOL, Decimal("50000"))
    account, _ = account_link(exchange_id="PAPER/RECON", parameters={})
    account_sync(account_id=account.pk)
    return account


def buy(account, client_order_id: str, amount: str) -> None:
    ticket = OrderTicket(
        client_order_id=client_order_id, symbol=PERP, side="BUY", amount=amount,
        price="51000", time_in_force="IMMEDIATE_OR_CANCEL",
    )  # fmt: skip
    order = order_submit(account=account, ticket=ticket)
    order_route(order_id=order.pk)
    account_sync(account_id=account.pk)


def alert(account) -> tuple[str, str]:
    fresh = ExchangeAccount.objects.get(pk=account.pk)
    return fresh.alert_kind, fresh.alert


def test_a_position_that_moves_with_the_desks_fills_raises_no_alert(account):
    buy(account, "recon-1", "0.01")
    buy(account, "recon-2", "0.02")
    account_sync(account_id=account.pk)

    row = Position.objects.get(account=account, symbol_id_exchange=SYMBOL)
    assert row.size == Decimal("0.03")
    assert desk_fills_net(account=account) == {SYMBOL: Decimal("0.03")}
    assert row.fills_gap == 0 and row.fills_gap_pending is None
    assert alert(account) == ("", "")


def test_a_position_moved_behind_the_desks_back_raises_the_accounts_alert(account):
    buy(account, "recon-3", "0.01")
    PaperPosition.objects.filter(account__account_key=account.exchange_id, symbol=SYMBOL).update(
        size=Decimal("0.004")
    )  # liquidated in part, or sold elsewhere

    account_sync(account_id=account.pk)
    assert alert(account) == ("", "")  # read once: could be a fill not recorded yet
    account_sync(account_id=account.pk)

    kind, text = alert(account)
    assert kind == AlertKind.POSITION
    assert PERP in text and "-0.006" in text
    row = Position.objects.get(account=account, symbol_id_exchange=SYMBOL)
    assert row.fills_gap == Decimal("-0.006") and row.fills_gap_pending is None


def test_a_gap_read_once_and_gone_again_raises_no_alert(account):
    buy(account, "recon-4", "0.01")
    row = Position.objects.get(account=account, symbol_id_exchange=SYMBOL)
    reported = [
        VenuePosition(
            symbol_id_exchange=SYMBOL,
            size=size,
            entry_price=Decimal(50000),
            mark_price=Decimal(50000),
            unrealized_pnl=Decimal(0),
            realized_pnl=Decimal(0),
            margin=Decimal(0),
            maintenance_margin=Decimal(0),
            leverage=Decimal(1),
            cross=False,
            liquidation_price=None,
            settlement_asset="USDT",
        )  # fmt: skip
        for size in (Decimal("0.015"), Decimal("0.01"))
    ]
    # A trade between the fills read and the positions read: its fill is recorded next sync.
    assert positions_reconcile(account=account, positions=reported[:1]) == []
    assert positions_reconcile(account=account, positions=reported[1:]) == []
    row.refresh_from_db()
    assert row.fills_gap == 0 and row.fills_gap_pending is None
    assert alert(account) == ("", "")
