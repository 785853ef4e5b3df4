"""Balances as the contract reports them: each account's BALANCE_SNAPSHOT and its items, the
same through REST (GET /v1/balances) and the stream (/v1/ws)."""

from __future__ import annotations

from emsweb.api import wire

from .models import Balance, ExchangeAccount


def balance_snapshot(account: ExchangeAccount) -> dict:
    """One account's BALANCE_SNAPSHOT, from its last sync: it never waits on a venue."""
    return {
        "type": "BALANCE_SNAPSHOT",
        "exchange_id": account.exchange_id,
        "data": [balance_item(row) for row in account.balances.all()],
        **_sync_state(account),
    }


def balance_item(row: Balance) -> dict:
    """An asset emsweb cannot map has no asset_id_coinapi: the key is left out, as on the hosted
    EMS. A rate it does not know is null, as there."""
    item = {
        "id": row.asset_id_exchange,
        "asset_id_exchange": row.asset_id_exchange,
        "asset_id_coinapi": row.asset_id_coinapi or None,
        "balance": row.balance,
        "available": row.available,
        "locked": row.locked,
        "traded": row.traded,
        "last_updated_by": row.last_updated_by,
        "rate_usd": row.rate_usd,
    }
    return wire.without_nulls(item, keep={"rate_usd"})


def _sync_state(account: ExchangeAccount) -> dict:
    """Balances never read are unknown, not zero: `error` says so beside the empty `data`."""
    if account.balances_synced_at is None:
        why = f": {account.last_sync_error}" if account.last_sync_error else ""
        return {"last_sync": None, "error": f"balances not read yet{why}"}
    return {"last_sync": account.last_sync_at, "error": account.last_sync_error or None}
