"""A guarded write of one order together with the history rows it adds, in one round trip.

Every status change is an UPDATE guarded by what the writer read (the status, and for venue
reports the version too), and, only if that guard matched, one OrderEvent per status entered.
On PostgreSQL both are one statement (the UPDATE in a data-modifying WITH, the INSERT reading
its RETURNING), so a claim or a venue report costs one round trip instead of four (BEGIN,
UPDATE, INSERT, COMMIT): the order path's largest cost was round trips (bench/README.md).
Elsewhere (SQLite, the tests' default) the same two statements run in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import chain

from django.db import connections, transaction
from django.db.models import QuerySet
from django.db.models.sql import UpdateQuery

from .models import Order, OrderEvent

# (status, at, cause, note): one history row to append.
Event = tuple[str, datetime, str, str]


def order_write(guard: QuerySet[Order], values: dict, events: Sequence[Event] = ()) -> int | None:
    """Set `values` on the order that `guard` matches (at most one: it filters on the pk) and
    append `events` to its history, both or neither. The order's new version, or None when the
    guard matched nothing (someone else changed the order first)."""
    update_sql, params = _update_returning_version(guard, values)
    connection = connections[guard.db]
    if connection.vendor == "postgresql":
        return _in_one_statement(connection, update_sql, params, events)
    with transaction.atomic(using=guard.db), connection.cursor() as cursor:
        cursor.execute(update_sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        order_id, version = row
        OrderEvent.objects.using(guard.db).bulk_create(
            OrderEvent(order_id=order_id, status=status, at=at, cause=cause, note=note)
            for status, at, cause, note in events
        )
    return version


def _update_returning_version(guard: QuerySet[Order], values: dict) -> tuple[str, tuple]:
    """The UPDATE that guard.update(**values) would run, returning the row's id and version."""
    query = guard.query.chain(UpdateQuery)
    query.add_update_values(values)
    sql, params = query.get_compiler(guard.db).as_sql()
    quote = connections[guard.db].ops.quote_name
    table = quote(Order._meta.db_table)
    returning = f"{table}.{quote('id')}, {table}.{quote('version')}"
    return f"{sql} RETURNING {returning}", tuple(params)


def _in_one_statement(connection, update_sql: str, params: tuple, events: Sequence[Event]):
    quote = connection.ops.quote_name
    sql = f"WITH changed AS ({update_sql})"
    if events:
        # The ordinal keeps the rows' ids in the order of the path (history reads at, then id).
        rows = ", ".join(["(%s, %s, %s::timestamptz, %s, %s)"] * len(events))
        columns = ", ".join(quote(name) for name in ("order_id", "status", "at", "cause", "note"))
        sql += (
            f", recorded AS (INSERT INTO {quote(OrderEvent._meta.db_table)} ({columns})"
            f" SELECT changed.id, e.status, e.at, e.cause, e.note"
            f" FROM changed, (VALUES {rows}) AS e (n, status, at, cause, note) ORDER BY e.n)"
        )
        params += tuple(chain.from_iterable((n, *event) for n, event in enumerate(events, start=1)))
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} SELECT version FROM changed", params)
        row = cursor.fetchone()
    return row[0] if row else None
