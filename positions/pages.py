"""What the overview and the trading screen show of positions: each open one with its PnL in
USD, the desk's total, margin used and free, and how far each is from its liquidation price,
flagged within the desk's alert threshold (RiskLimits.liquidation_alert_percent of the desk's
row; DEFAULT_ALERT_PERCENT when empty)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Balance, ExchangeAccount
from risk.models import RiskLimits

from .models import Position

DEFAULT_ALERT_PERCENT = Decimal(10)


@dataclass(frozen=True)
class PositionRow:
    position: Position
    exchange_id: str
    pnl_usd: Decimal | None
    margin_usd: Decimal | None
    distance_percent: Decimal | None  # from the mark to the liquidation price
    alert: bool


def alert_percent() -> Decimal:
    desk = RiskLimits.objects.filter(account__isnull=True, user__isnull=True).first()
    if desk is None or desk.liquidation_alert_percent is None:
        return DEFAULT_ALERT_PERCENT
    return desk.liquidation_alert_percent


def positions_context(*, accounts: list[ExchangeAccount], symbol: str | None = None) -> dict:
    """The open positions of these accounts (of one instrument, `symbol`, on the trading
    screen), with the totals in USD; None where a rate is not known."""
    held = Position.objects.filter(account__in=accounts).exclude(size=0).select_related("account")
    if symbol is not None:
        held = held.filter(symbol_id_exchange=symbol)
    held = list(held.order_by("account__exchange_id", "symbol_id_exchange"))
    wallets = {
        (row.account_id, row.asset_id_exchange): row
        for row in Balance.objects.filter(
            account__in={p.account_id for p in held},
            asset_id_exchange__in={p.settlement_asset for p in held},
        )
    }
    threshold = alert_percent()
    rows = [_row(position, wallets, threshold) for position in held]
    free = [
        wallet.available * wallet.rate_usd
        for wallet in wallets.values()
        if wallet.rate_usd is not None
    ]
    return {
        "positions": rows,
        "positions_pnl_usd": _total(row.pnl_usd for row in rows),
        "margin_used_usd": _total(row.margin_usd for row in rows),
        "margin_free_usd": sum(free, Decimal(0)) if free else None,
        "liquidation_alert_percent": threshold,
        "positions_alerts": sum(row.alert for row in rows),
    }


def _row(position: Position, wallets: dict, threshold: Decimal) -> PositionRow:
    wallet = wallets.get((position.account_id, position.settlement_asset))
    rate = wallet.rate_usd if wallet is not None else None
    distance = None
    if position.liquidation_price and position.mark_price:
        distance = abs(position.mark_price - position.liquidation_price) / position.mark_price
        distance = (distance * 100).quantize(Decimal("0.01"))
    return PositionRow(
        position=position,
        exchange_id=position.account.exchange_id,
        pnl_usd=None if rate is None else position.unrealized_pnl * rate,
        margin_usd=None if rate is None else position.margin * rate,
        distance_percent=distance,
        alert=distance is not None and distance <= threshold,
    )


def _total(values) -> Decimal | None:
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if known else None
