"""Orders as the contract reports them: the execution report and the order-history row.

Read as values, in three queries whatever the number of orders: building model instances for
500 open orders (with their events and fills) took 120 ms, their values take 20 (bench/README.md).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache

from django.db import connection
from django.db.models import F, QuerySet

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
    rows = list(orders.values(*ORDER_VALUES, **RELATED_VALUES))
    by_id = {row["id"]: row for row in rows}
    for row in rows:
        row["events"], row["fills"] = [], []
    if not by_id:
        return rows
    # Two statements, not one UNION: PostgreSQL plans the union of a few hundred orders' rows
    # in parallel, and starting its parallel workers costs more than the second round trip.
    events = OrderEvent.objects.filter(order_id__in=by_id).order_by("at", "id")
    for order_id, status, at in events.values_list("order_id", "status", "at"):
        by_id[order_id]["events"].append((status, at))
    fills = Fill.objects.filter(order_id__in=by_id).order_by("time", "id")
    for order_id, *fill in fills.values_list("order_id", "time", "price", "amount"):
        by_id[order_id]["fills"].append(fill)
    return rows


def reports_of(ids: Collection[int]) -> list[dict]:
    """report_data of the orders with these ids (in no particular order), for the readers of a
    few orders many times a second. On PostgreSQL the three statements are compiled once per
    process and count of ids, and sent in one round trip: compiling them cost twice what
    running them does."""
    ids = sorted(set(ids))
    if connection.vendor != "postgresql" or not ids:
        return report_data(Order.objects.filter(pk__in=ids).order_by())
    statements = _statements_for(len(ids))
    with connection.cursor() as cursor:
        cursor.execute(statements.sql, ids * 3)
        return statements.read(cursor)


class ReportStatements:
    """report_data's three statements for the orders whose ids `ids` gives (a collection, or a
    values() query of ids), compiled once, to send as one batch on a PostgreSQL cursor (Django's
    binds on the client, which allows several statements in one execute) and read back."""

    def __init__(self, ids):
        self.orders = _Compiled(
            Order.objects.filter(pk__in=ids).order_by().values(*ORDER_VALUES, **RELATED_VALUES)
        )
        self.events = _Compiled(
            OrderEvent.objects.filter(order_id__in=ids)
            .order_by("at", "id")
            .values_list("order_id", "status", "at")
        )
        self.fills = _Compiled(
            Fill.objects.filter(order_id__in=ids)
            .order_by("time", "id")
            .values_list("order_id", "time", "price", "amount")
        )
        parts = (self.orders, self.events, self.fills)
        self.sql = "; ".join(part.sql for part in parts)
        self.params = [param for part in parts for param in part.params]

    def read(self, cursor) -> list[dict]:
        """The reports, from a cursor whose current result is the first statement's; it is left
        on the last one's."""
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in self.orders.rows(cursor)]
        by_id = {row["id"]: row for row in rows}
        for row in rows:
            row["events"], row["fills"] = [], []
        cursor.nextset()
        # Each statement reads as of its own start: an order the first did not see yet may
        # have events or fills in the next ones.
        for order_id, status, at in self.events.rows(cursor):
            if order_id in by_id:
                by_id[order_id]["events"].append((status, at))
        cursor.nextset()
        for order_id, *fill in self.fills.rows(cursor):
            if order_id in by_id:
                by_id[order_id]["fills"].append(fill)
        return rows


class _Compiled:
    """A values() query's SQL and parameters, and its columns' converters (a JSON field's
    parsing, say), as the ORM would apply them."""

    def __init__(self, query: QuerySet):
        compiler = query.query.get_compiler(connection=connection)
        self.sql, self.params = compiler.as_sql()
        fields = [select[0] for select in compiler.select[: compiler.col_count]]
        self.converters = compiler.get_converters(fields)

    def rows(self, cursor) -> list[list]:
        rows = [list(row) for row in cursor.fetchall()]
        for position, (functions, expression) in self.converters.items():
            for row in rows:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
        return rows


@lru_cache(maxsize=64)
def _statements_for(count: int) -> ReportStatements:
    """For `count` ids: the ids compiled in are placeholders, each statement's only parameters."""
    statements = ReportStatements(range(count))
    assert statements.params == list(range(count)) * 3, statements.params
    return statements


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
