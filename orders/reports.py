"""Orders as the contract reports them: the execution report and the order-history row.

Read as values, in three statements whatever the number of orders: building model instances
for 500 open orders (with their events and fills) took 120 ms, their values take 20
(bench/README.md). On PostgreSQL the statements go in one or two round trips, compiled once
where their shape allows, and times are read with psycopg's own parser (orders.compiled).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL

from .compiled import Compiled, values_cursor
from .models import Fill, Order, OrderEvent

HISTORY_SIDE = {"BUY": 1, "SELL": 2}
ORDER_VALUES = (
    *("id", "client_order_id", "client_order_id_format_exchange", "exchange_order_id"),
    *("amount_order", "price", "amount_open", "amount_filled", "avg_px", "status"),
    *("error_message", "reject_reason", "side", "order_type", "time_in_force", "expire_time"),
    *("exec_inst", "created_at"),
)
RELATED_VALUES = {
    "exchange_id": F("account__exchange_id"),
    "symbol_id_exchange": F("instrument__symbol_id_exchange"),
    "symbol_id_coinapi": F("instrument__symbol_id_coinapi"),
    "apikey": F("created_with_key__prefix"),
}


def report_data(orders: QuerySet[Order]) -> list[dict]:
    """What the reports show of `orders`, in their order: each order's values, with "events"
    as (status, at) and "fills" as (time, price, amount), oldest first."""
    if connection.vendor == "postgresql":
        return _report_data_batched(orders)
    rows = list(orders.values(*ORDER_VALUES, **RELATED_VALUES))
    by_id = _with_history_lists(rows)
    if not by_id:
        return rows
    events = OrderEvent.objects.filter(order_id__in=by_id).order_by("at", "id")
    for order_id, status, at in events.values_list("order_id", "status", "at"):
        by_id[order_id]["events"].append((status, at))
    fills = Fill.objects.filter(order_id__in=by_id).order_by("time", "id")
    for order_id, *fill in fills.values_list("order_id", "time", "price", "amount"):
        by_id[order_id]["fills"].append(fill)
    return rows


def _report_data_batched(orders: QuerySet[Order]) -> list[dict]:
    """report_data on PostgreSQL: the orders, then their events and fills in one round trip,
    compiled once (the ids are one array parameter, not a placeholder each to compile and
    bind), all read with psycopg's own time parser."""
    try:
        query = Compiled(orders.values(*ORDER_VALUES, **RELATED_VALUES))
    except EmptyResultSet:
        return []
    with values_cursor() as cursor:
        cursor.execute(query.sql, query.params)
        rows = query.dicts(cursor)
        by_id = _with_history_lists(rows)
        if by_id:
            history = _history_of_array()
            cursor.execute(history.sql, [list(by_id)] * 2)
            history.read_into(cursor, by_id)
    return rows


def _with_history_lists(rows: list[dict]) -> dict[int, dict]:
    for row in rows:
        row["events"], row["fills"] = [], []
    return {row["id"]: row for row in rows}


def reports_of(ids: Collection[int]) -> list[dict]:
    """report_data of the orders with these ids (in no particular order), for the readers of a
    few orders many times a second. On PostgreSQL the three statements are compiled once per
    process and count of ids, and sent in one round trip: compiling them cost twice what
    running them does."""
    ids = sorted(set(ids))
    if connection.vendor != "postgresql" or not ids:
        return report_data(Order.objects.filter(pk__in=ids).order_by())
    statements = statements_for_ids(len(ids))
    with values_cursor() as cursor:
        cursor.execute(statements.sql, ids * 3)
        return statements.read(cursor)


def reports_selected(ids: QuerySet) -> list[dict]:
    """report_data of the orders a values("id") query selects (in no particular order), in one
    round trip on PostgreSQL, the three statements compiled once per process and shape of
    `ids`, which compiles in a fraction of their time. Only for a query whose orders cannot
    leave it between two statements (by client_order_id, say, not by status): each statement
    runs the query again."""
    if connection.vendor != "postgresql":
        return report_data(Order.objects.filter(pk__in=ids).order_by())
    try:
        sql, params = ids.order_by().query.sql_with_params()
    except EmptyResultSet:
        return []
    statements = _statements_selected(sql, len(params))
    with values_cursor() as cursor:
        cursor.execute(statements.sql, list(params) * 3)
        return statements.read(cursor)


class ReportStatements:
    """report_data's three statements for the orders whose ids `ids` gives (a collection, or a
    values() query of ids), compiled once, to send as one batch on a PostgreSQL cursor (Django's
    binds on the client, which allows several statements in one execute) and read back."""

    def __init__(self, ids):
        self.orders = Compiled(
            Order.objects.filter(pk__in=ids).order_by().values(*ORDER_VALUES, **RELATED_VALUES)
        )
        self.history = HistoryStatements(ids)
        self.sql = f"{self.orders.sql}; {self.history.sql}"
        self.params = [*self.orders.params, *self.history.params]

    def read(self, cursor) -> list[dict]:
        """The reports, from a cursor whose current result is the first statement's; it is left
        on the last one's."""
        rows = self.orders.dicts(cursor)
        by_id = _with_history_lists(rows)
        cursor.nextset()
        self.history.read_into(cursor, by_id)
        return rows


class HistoryStatements:
    """report_data's events and fills of the orders whose ids `ids` gives, the second and third
    of its statements (two, not one UNION: PostgreSQL plans the union of a few hundred orders'
    rows in parallel, and starting its parallel workers costs more than a second statement)."""

    def __init__(self, ids):
        self.events = Compiled(
            OrderEvent.objects.filter(order_id__in=ids)
            .order_by("at", "id")
            .values_list("order_id", "status", "at")
        )
        self.fills = Compiled(
            Fill.objects.filter(order_id__in=ids)
            .order_by("time", "id")
            .values_list("order_id", "time", "price", "amount")
        )
        self.sql = f"{self.events.sql}; {self.fills.sql}"
        self.params = [*self.events.params, *self.fills.params]

    def read_into(self, cursor, by_id: dict[int, dict]) -> None:
        """Each order's events and fills into its row, from a cursor whose current result is
        the events'; it is left on the fills'."""
        # Each statement reads as of its own start: an order the first did not see yet may
        # have events or fills in the next ones.
        for order_id, status, at in self.events.rows(cursor):
            if order_id in by_id:
                by_id[order_id]["events"].append((status, at))
        cursor.nextset()
        for order_id, *fill in self.fills.rows(cursor):
            if order_id in by_id:
                by_id[order_id]["fills"].append(fill)


@lru_cache(maxsize=64)
def statements_for_ids(count: int) -> ReportStatements:
    """report_data's statements for `count` ids, the ids given as each statement's only
    parameters (`ids * 3`)."""
    statements = ReportStatements(range(count))
    assert statements.params == list(range(count)) * 3, statements.params
    return statements


@lru_cache(maxsize=64)
def _statements_selected(sql: str, count: int) -> ReportStatements:
    """For the ids `sql` selects with `count` parameters, each statement's only parameters."""
    statements = ReportStatements(RawSQL(sql, range(count)))
    assert statements.params == list(range(count)) * 3, statements.params
    return statements


@lru_cache(maxsize=1)
def _history_of_array() -> HistoryStatements:
    """For the ids of one array parameter, each statement's only parameter."""
    history = HistoryStatements(RawSQL("SELECT unnest(%s::bigint[])", ("ids",)))
    assert history.params == ["ids", "ids"], history.params
    return history


def execution_report(order: dict) -> dict:
    """An ORDER_EXEC_REPORT_UPDATE (from report_data), keys in the order the hosted EMS sends
    them."""
    return {
        "type": "ORDER_EXEC_REPORT_UPDATE",
        "id": order["client_order_id"],
        "client_order_id_format_exchange": order["client_order_id_format_exchange"],
        "exchange_order_id": order["exchange_order_id"] or None,
        "amount_open": order["amount_open"],
        "amount_filled": order["amount_filled"],
        "status": order["status"],
        "status_history": [[status, at] for status, at in order["events"]],
        "error_message": order["error_message"] or None,
        "fills": [
            {"time": time, "price": price, "amount": amount}
            for time, price, amount in order["fills"]
        ],
        "exchange_id": order["exchange_id"],
        "client_order_id": order["client_order_id"],
        "symbol_id_exchange": order["symbol_id_exchange"],
        "symbol_id_coinapi": order["symbol_id_coinapi"],
        "amount_order": order["amount_order"],
        "price": order["price"],
        "avg_px": order["avg_px"],
        "side": order["side"],
        "order_type": order["order_type"],
        "time_in_force": order["time_in_force"],
        "expire_time": order["expire_time"],
        "exec_inst": order["exec_inst"],
    }


def history_item(order: dict) -> dict:
    """An OrderHistory row (from report_data): the contract's camelCase shape with parallel
    arrays."""
    events, fills = order["events"], order["fills"]
    return {
        "apikey": order["apikey"],
        "exchangeId": order["exchange_id"],
        "clientOrderId": order["client_order_id"],
        "symbolIdExchange": order["symbol_id_exchange"],
        "symbolIdCoinapi": order["symbol_id_coinapi"],
        "amountOrder": order["amount_order"],
        "price": order["price"],
        "side": HISTORY_SIDE[order["side"]],
        "orderType": order["order_type"],
        "timeInForce": order["time_in_force"],
        "expireTime": order["expire_time"],
        "execInst": order["exec_inst"],
        "clientOrderIdFormatExchange": order["client_order_id_format_exchange"],
        "exchangeOrderId": order["exchange_order_id"] or None,
        "amountOpen": order["amount_open"],
        "amountFilled": order["amount_filled"],
        "avgPx": order["avg_px"],
        "status": order["status"],
        "statusHistoryStatus": [status for status, _ in events],
        "statusHistoryTime": [at for _, at in events],
        "errorMessageResult": "error" if order["error_message"] else None,
        "errorMessageReason": order["reject_reason"] or None,
        "errorMessageMessage": order["error_message"] or None,
        "fillsTime": [time for time, _, _ in fills],
        "fillsPrice": [price for _, price, _ in fills],
        "fillsAmount": [amount for _, _, amount in fills],
        "createdTime": order["created_at"],
    }
