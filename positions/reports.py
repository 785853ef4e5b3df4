"""Positions as the contract reports them (§2.8, §6.2): PositionData, the same in GET
/v1/positions, in POSITION_SNAPSHOT and, flat with `type` and `exchange_id`, in POSITION_UPDATE.

`quantity` is unsigned beside `side`; what the contract has no field for (mark price, realized
PnL, margin, ...) is in `raw_data`, an object."""

from __future__ import annotations

from accounts.models import ExchangeAccount

from .models import Position

RAW_FIELDS = (
    "mark_price",
    "realized_pnl",
    "margin",
    "maintenance_margin",
    "settlement_asset",
    "fees",
    "funding",
    "liquidated_at",
)


def position_data(row: Position) -> dict:
    return {
        "id": row.symbol_id_exchange,
        "symbol_id_exchange": row.symbol_id_exchange,
        "symbol_id_coinapi": row.symbol_id_coinapi or None,
        "avg_entry_price": row.entry_price,
        "quantity": abs(row.size),
        "side": row.side,
        "unrealized_pnl": row.unrealized_pnl,
        "leverage": row.leverage,
        "cross_margin": row.cross,
        "liquidation_price": row.liquidation_price,
        "raw_data": {name: getattr(row, name) for name in RAW_FIELDS},
    }


def position_update(row: Position, exchange_id: str) -> dict:
    return {"type": "POSITION_UPDATE", "exchange_id": exchange_id, **position_data(row)}


def position_snapshot(account: ExchangeAccount) -> dict:
    """The account's open positions (flat rows left out), from its last sync."""
    rows = [row for row in account.positions.all() if row.size]
    return {
        "type": "POSITION_SNAPSHOT",
        "exchange_id": account.exchange_id,
        "data": [position_data(row) for row in rows],
    }
