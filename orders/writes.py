"""A write of one order together with the history rows it adds, in one round trip.

Every status change is an UPDATE guarded by what the writer read (the status, and for venue
reports the version too), and, only if that guard matched, one OrderEvent per status entered.
On PostgreSQL both are one statement (the UPDATE in a data-modifying WITH, the INSERT reading
its RETURNING), so a claim or a venue report costs one round trip instead of four (BEGIN,
UPDATE, INSERT, COMMIT): the order path's largest cost was round trips (bench/README.md). A new
order and its RECEIVED row are one INSERT reading another's RETURNING in the same way.
Elsewhere (SQLite, the tests' default) the same two statements run in one transaction.

Every write that changes an order also adds its event to the stream's outbox (stream.outbox),
in the same statement on PostgreSQL (one more INSERT in the WITH, reading the row written), so
the order path gains no round trip. When that statement commits at once (or is the last of its
transaction), it also takes the stream's cursor and numbers the event, and a guarded write
reads the order's report in the same round trip: the writer's thread then announces it
(stream.announce) with no pass of the sequencer. Otherwise the sequencer is poked to number it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from itertools import chain
from typing import NamedTuple

from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from emsweb.sql import insert_returning_id
from stream.announce import Numbered, numbering_cte, writers_number
from stream.models import EventKind, StreamEvent
from stream.outbox import announce_on_commit, poke_on_commit

from .compiled import values_cursor
from .models import Order, OrderEvent
from .reports import statements_for_ids

# (status, at, cause, note): one history row to append.
Event = tuple[str, datetime, str, str]
RETURNED = ("id", "version", "cancel_requested_at", "canceled_by_id")
EVENT_COLUMNS = ("order_id", "status", "at", "cause", "note")
STREAM_COLUMNS = ("kind", "account_id", "ref_id", "created_at", "message")


class Written(NamedTuple):
    """The order as the write left it: what a writer needs without reading it again."""

    version: int
    cancel_requested_at: datetime | None
    canceled_by_id: int | None


class Guard(NamedTuple):
    """What the order's row must still be for a write to apply: its id, one of `statuses`, and
    for a venue report the `version` its writer planned from."""

    pk: int
    statuses: Collection[str]
    version: int | None = None


def order_write(
    guard: Guard, values: dict, events: Sequence[Event] = (), *, next_version: bool = True
) -> Written | None:
    """Set `values` (fields by name) on the order if `guard` still holds, with its version
    moved on unless `next_version` is False, and append `events` to its history, both or
    neither. None when the guard matched nothing (someone else changed the order first)."""
    connection = connections[router.db_for_write(Order)]
    update_sql, params = _update_returning(connection, guard, values, next_version)
    if connection.vendor == "postgresql":
        row = _in_one_statement(connection, update_sql, params, events, guard.pk)
    else:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(update_sql, params)
            row = cursor.fetchone()
            if row is not None:
                OrderEvent.objects.using(connection.alias).bulk_create(
                    OrderEvent(order_id=row[0], status=status, at=at, cause=cause, note=note)
                    for status, at, cause, note in events
                )
                StreamEvent.objects.using(connection.alias).create(
                    kind=EventKind.ORDER, account_id=row[-1], ref_id=row[0]
                )
        if row is not None:
            poke_on_commit()
    if row is None:
        return None
    _, version, cancel_requested_at, canceled_by_id = row[: len(RETURNED)]
    return Written(version, _aware(cancel_requested_at), canceled_by_id)


def _aware(value: datetime | str | None) -> datetime | None:
    # SQLite hands a raw cursor its timestamps as text, in UTC.
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


def _update_returning(
    connection, guard: Guard, values: dict, next_version: bool
) -> tuple[str, tuple]:
    """The guarded UPDATE, returning the RETURNED columns and the order's account (for its
    outbox row). Written by hand: the ORM's compiling of it cost more than running it."""
    quote = connection.ops.quote_name
    table = quote(Order._meta.db_table)
    assignments, params = [], []
    for name, value in values.items():
        field = Order._meta.get_field(name)
        if hasattr(value, "prepare_database_save"):
            value = value.prepare_database_save(field)  # a related row: its key
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(value, connection))
    if next_version:
        assignments.append(f"{quote('version')} = {table}.{quote('version')} + 1")
    statuses = sorted(guard.statuses)
    where = f"{quote('id')} = %s AND {quote('status')} IN ({', '.join(['%s'] * len(statuses))})"
    params += [guard.pk, *statuses]
    if guard.version is not None:
        where += f" AND {quote('version')} = %s"
        params.append(guard.version)
    returning = ", ".join(f"{table}.{quote(column)}" for column in (*RETURNED, "account_id"))
    return (
        f"UPDATE {table} SET {', '.join(assignments)} WHERE {where} RETURNING {returning}",
        tuple(params),
    )


def _in_one_statement(connection, update_sql: str, params: tuple, events, order_id: int):
    """The guarded write with its history and outbox rows; numbered and with the order's report
    read after it (one round trip) when it commits at once."""
    quote = connection.ops.quote_name
    numbering = writers_number(connection) and not connection.in_atomic_block
    stream_sql, stream_params = _streamed(connection, "changed", numbering)
    sql = (
        f"WITH changed AS ({update_sql}), {stream_sql} SELECT %s, changed.account_id, changed.id,"
        " %s::timestamptz, '', numbered.last_seq FROM changed LEFT JOIN numbered ON true"
        " RETURNING id, seq)"
    )
    params += (*stream_params, EventKind.ORDER.value, timezone.now())
    if events:
        # The ordinal keeps the rows' ids in the order of the path (history reads at, then id).
        rows = ", ".join(["(%s, %s, %s::timestamptz, %s, %s)"] * len(events))
        columns = ", ".join(quote(name) for name in EVENT_COLUMNS)
        sql += (
            f", recorded AS (INSERT INTO {quote(OrderEvent._meta.db_table)} ({columns})"
            f" SELECT changed.id, e.status, e.at, e.cause, e.note"
            f" FROM changed, (VALUES {rows}) AS e (n, status, at, cause, note) ORDER BY e.n)"
        )
        params += tuple(chain.from_iterable((n, *event) for n, event in enumerate(events, start=1)))
    sql += (
        f" SELECT {', '.join(f'changed.{name}' for name in RETURNED)}, changed.account_id,"
        " streamed.id, streamed.seq FROM changed, streamed"
    )
    reports = statements_for_ids(1) if numbering else None
    if reports is not None:
        # Read in the same implicit transaction, after the write: the report as it committed.
        sql, params = f"{sql}; {reports.sql}", (*params, *[order_id] * 3)
    with values_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        *written, account_id, stream_id, seq = row
        if reports is not None and seq is not None:
            cursor.nextset()
            numbered = Numbered(stream_id, seq, account_id, order_id)
            announce_on_commit([numbered], reports.read(cursor))
        else:
            poke_on_commit()
    return written


def _streamed(connection, source: str, numbering: bool) -> tuple[str, list]:
    """The CTEs `numbered` (the seq taken when `numbering`, else none) and the start of
    `streamed`, the INSERT of the outbox row (its SELECT to follow, reading `source`)."""
    if numbering:
        numbered, params = numbering_cte(source)
    else:
        numbered, params = "numbered AS (SELECT NULL::bigint AS last_seq)", []
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in (*STREAM_COLUMNS, "seq"))
    return (
        f"{numbered}, streamed AS (INSERT INTO {quote(StreamEvent._meta.db_table)} ({columns})",
        params,
    )


def order_insert(
    order: Order, *, cause: str, note: str, savepoint: bool = True, commits_next: bool = False
) -> None:
    """INSERT a new `order` and its first history row (its status, at its created_at), both or
    neither, and set its pk. Raises IntegrityError as save() would (a client order id that is
    already used, say), leaving any transaction around it usable; with `savepoint` False, for
    a caller that rolls its transaction back on that error, without the savepoint's two round
    trips that keep it usable. `commits_next`: the caller's transaction (its outermost) commits
    right after this statement, so the order's stream event may be numbered here."""
    connection = connections[order._state.db or "default"]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=connection.alias):
            order.save(force_insert=True, using=connection.alias)
            OrderEvent.objects.using(connection.alias).create(
                order=order, status=order.status, at=order.created_at, cause=cause, note=note
            )
            StreamEvent.objects.using(connection.alias).create(
                kind=EventKind.ORDER, account_id=order.account_id, ref_id=order.pk
            )
        poke_on_commit()
        return
    quote = connection.ops.quote_name
    # The cursor is held from this statement to the COMMIT: only when that follows at once.
    numbering = writers_number(connection) and (
        not connection.in_atomic_block or (commits_next and len(connection.atomic_blocks) == 1)
    )
    stream_sql, stream_params = _streamed(connection, "inserted", numbering)
    sql = (
        f"WITH inserted AS ({{}}), {stream_sql} SELECT %s, %s, inserted.id, %s::timestamptz, '',"
        " numbered.last_seq FROM inserted LEFT JOIN numbered ON true RETURNING id, seq),"
        f" recorded AS (INSERT INTO {quote(OrderEvent._meta.db_table)}"
        f" ({', '.join(quote(name) for name in EVENT_COLUMNS)})"
        " SELECT inserted.id, %s, %s::timestamptz, %s, %s FROM inserted)"
        " SELECT inserted.id, streamed.id, streamed.seq FROM inserted, streamed"
    )
    insert_sql, params = insert_returning_id(connection, order)
    streamed = (*stream_params, EventKind.ORDER.value, order.account_id, timezone.now())
    # Inside a transaction, a refused INSERT must not spoil it: a savepoint of its own then.
    in_transaction = savepoint and connection.in_atomic_block
    guard = transaction.atomic(using=connection.alias) if in_transaction else None
    with guard or contextlib.nullcontext(), connection.cursor() as cursor:
        cursor.execute(
            sql.format(insert_sql),
            (*params, *streamed, order.status, order.created_at, cause, note),
        )
        order.pk, stream_id, seq = cursor.fetchone()
    order._state.adding, order._state.db = False, connection.alias
    if seq is not None:
        announce_on_commit([Numbered(stream_id, seq, order.account_id, order.pk)])
    else:
        poke_on_commit()
