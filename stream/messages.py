"""The stream's wire messages (contract §6.2), built in batches from the database as it is now.

Each message is JSON text without "seq" (stream.reader puts it first when the event is read):
- an order: ORDER_EXEC_REPORT_UPDATE, the execution report exactly as REST returns it;
- a balance: BALANCE_UPDATE, flat, its fields as REST's balances show them;
- an account: SERVER_INFO for that account, with emsweb's `connection`, `alert` and `trading`;
- a position: POSITION_UPDATE, flat PositionData as REST's positions show it.
A few queries per batch whatever its size: one per kind (three for orders, as report_data).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, Q

from accounts.models import Balance, ExchangeAccount
from accounts.reports import BALANCE_FIELDS, balance_fields, without_unknown
from emsweb.api import wire
from orders.reports import execution_report, reports_of
from positions.models import Position
from positions.reports import position_update
from risk.models import ScopeState, TradingState

from .models import EventKind

BALANCE_VALUES = ("id", *BALANCE_FIELDS)
ACCOUNT_VALUES = ("id", "exchange_id", "enabled", "last_sync_at", "last_sync_error", "alert")
# From the least restrictive to the most: an account trades under the stricter of its own
# state and the desk's.
RESTRICTION = (TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED)


class Connection:
    """An account's connection as the stream and the overview tell it."""

    CONNECTED = "CONNECTED"  # the last sync worked
    ERROR = "ERROR"  # the last sync failed (`error` says why)
    NOT_SYNCED = "NOT_SYNCED"  # linked, not synced yet
    DISABLED = "DISABLED"  # unlinked (its history kept) or disabled by an admin
    REMOVED = "REMOVED"  # unlinked and deleted


def messages_build(kinds_and_ids: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """(kind, ref_id) -> the message of that subject as it is now; a subject gone is missing."""
    wanted: dict[str, set[int]] = {kind: set() for kind in EventKind.values}
    for kind, ref_id in kinds_and_ids:
        wanted[kind].add(ref_id)
    built = {}
    for kind, build in BUILDERS.items():
        if wanted[kind]:
            built.update(((kind, ref_id), text) for ref_id, text in build(wanted[kind]).items())
    return built


def _orders(ids: set[int]) -> dict[int, str]:
    return order_messages(reports_of(ids))


def order_messages(reports: list[dict]) -> dict[int, str]:
    """Order id -> its ORDER_EXEC_REPORT_UPDATE, of orders.reports' report rows."""
    return {row["id"]: wire.dumps(execution_report(row)) for row in reports}


def _balances(ids: set[int]) -> dict[int, str]:
    rows = Balance.objects.filter(pk__in=ids).values(
        *BALANCE_VALUES, exchange_id=F("account__exchange_id")
    )
    return {row["id"]: wire.dumps(balance_update(row)) for row in rows}


def _accounts(ids: set[int]) -> dict[int, str]:
    rows = ExchangeAccount.objects.filter(pk__in=ids).values(*ACCOUNT_VALUES)
    trading = trading_states(ids)
    return {
        row["id"]: wire.dumps(account_server_info(row) | {"trading": trading[row["id"]]})
        for row in rows
    }


def _positions(ids: set[int]) -> dict[int, str]:
    rows = Position.objects.filter(pk__in=ids).select_related("account")
    return {row.pk: wire.dumps(position_update(row, row.account.exchange_id)) for row in rows}


BUILDERS = {
    EventKind.ORDER: _orders,
    EventKind.BALANCE: _balances,
    EventKind.ACCOUNT: _accounts,
    EventKind.POSITION: _positions,
}


def balance_update(row: dict) -> dict:
    """BALANCE_UPDATE of a balance row's values (BALANCE_VALUES and its exchange_id), with the
    fields REST's balances show."""
    return without_unknown(
        {"type": "BALANCE_UPDATE", "exchange_id": row["exchange_id"], **balance_fields(row)}
    )


def balance_removed_message(*, balance: Balance, exchange_id: str) -> str:
    """The last BALANCE_UPDATE of a row about to be deleted (the venue no longer lists the
    asset): nothing held."""
    values = {name: getattr(balance, name) for name in BALANCE_VALUES}
    values.update(balance=0, available=0, locked=0, exchange_id=exchange_id)
    return wire.dumps(balance_update(values))


def account_server_info(row: dict) -> dict:
    """SERVER_INFO for one account (ACCOUNT_VALUES): `is_running` when it is enabled and its
    last sync worked; `connection` and `alert` are emsweb's."""
    connection = connection_state(row)
    return {
        "type": "SERVER_INFO",
        "exchange_id": row["exchange_id"],
        "is_running": connection == Connection.CONNECTED,
        "connection": connection,
        "error": row["last_sync_error"] or None,
        "alert": row["alert"] or None,
    }


def trading_states(account_ids: set[int]) -> dict[int, str]:
    """Each account's trading state in force (ACTIVE, REDUCING, HALTED): the stricter of its own
    and the desk's."""
    rows = ScopeState.objects.filter(Q(account__isnull=True) | Q(account__in=account_ids))
    states = dict(rows.values_list("account_id", "state"))
    desk = states.get(None, TradingState.ACTIVE)
    return {
        pk: max(desk, states.get(pk, TradingState.ACTIVE), key=RESTRICTION.index)
        for pk in account_ids
    }


def connection_state(row: dict) -> str:
    if not row["enabled"]:
        return Connection.DISABLED
    if row["last_sync_error"]:
        return Connection.ERROR
    return Connection.CONNECTED if row["last_sync_at"] else Connection.NOT_SYNCED


def account_removed_message(*, account: ExchangeAccount) -> str:
    """The last SERVER_INFO of an account about to be deleted."""
    return wire.dumps(
        {
            "type": "SERVER_INFO",
            "exchange_id": account.exchange_id,
            "is_running": False,
            "connection": Connection.REMOVED,
            "error": None,
            "alert": None,
        }
    )
