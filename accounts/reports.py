"""Balances as the contract reports them: each account's BALANCE_SNAPSHOT and its items, the
same through REST (GET /v1/balances) and the stream (/v1/ws)."""

from __future__ import annotations

from emsweb.api import wire

from .models import Balance, ExchangeAccount

# In the order the hosted EMS sends them.
BALANCE_FIELDS = (
    *("asset_id_exchange", "asset_id_coinapi", "balance", "available", "locked"),
    *("last_updated_by", "rate_usd"),
)


def balance_snapshot(account: ExchangeAccount) -> dict:
    """One account's BALANCE_SNAPSHOT, from its last sync: it never waits on a venue."""
    return {
        "type": "BALANCE_SNAPSHOT",
        "exchange_id": account.exchange_id,
        "data": [balance_item(row) for row in account.balances.all()],
        **_sync_state(account),
    }


def balance_item(row: Balance) -> dict:
    """An item of BALANCE_SNAPSHOT's data, as GET /v1/balances shows it (traded after locked)."""
    fields = balance_fields({name: getattr(row, name) for name in BALANCE_FIELDS})
    item = {"id": row.asset_id_exchange}
    for name, value in fields.items():
        item[name] = value
        if name == "locked":
            item["traded"] = row.traded
    return without_unknown(item)


def balance_fields(values: dict) -> dict:
    """What the contract shows of a balance (BALANCE_FIELDS of a row's `values`), the same in a
    snapshot's item and in a BALANCE_UPDATE."""
    fields = {name: values[name] for name in BALANCE_FIELDS}
    fields["asset_id_coinapi"] = fields["asset_id_coinapi"] or None
    return fields


def without_unknown(item: dict) -> dict:
    """An asset emsweb cannot map has no asset_id_coinapi: the key is left out, as on the hosted
    EMS. A rate it does not know is null, as there."""
    return wire.without_nulls(item, keep={"rate_usd"})


def _sync_state(account: ExchangeAccount) -> dict:
    """Balances never read are unknown, not zero: `error` says so beside the empty `data`."""
    if account.balances_synced_at is None:
        why = f": {account.last_sync_error}" if account.last_sync_error else ""
        return {"last_sync": None, "error": f"balances not read yet{why}"}
    return {"last_sync": account.last_sync_at, "error": account.last_sync_error or None}
