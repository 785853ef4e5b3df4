"""The sequencer: numbers the committed events of the outbox, one pass at a time.

A pass takes the cursor row first (an UPDATE: a row lock on PostgreSQL, the write lock on
SQLite), so two passes, in one process or in two, take turns; the second then sees what the
first numbered, since each statement after the lock reads what is committed by then. It
numbers the committed rows that have no seq in id order, following the cursor's last_seq,
builds their messages from the database as it is now (a few queries per batch), stores both,
moves the cursor on and commits; only then does it publish the batch on EVENTS_CHANNEL. A
publish that fails loses nothing: the events are numbered and stored, and subscribers read
what they missed from the table (stream.reader.events_since).

A pass sits on the path of every event from its commit to its clients, so on PostgreSQL, outside
an atomic block (as the hubs run it), it costs two round trips: one batch that begins the
transaction, takes the cursor, reads the pending rows and the reports of their orders (each
statement of a batch reads as of its own start, so the reads see what the lock holder before
committed), and one that stores and commits. Elsewhere it is a transaction.atomic() of plain
statements. Every web process's hub runs a pass when a writer pokes, so on PostgreSQL a hub's
pass may skip instead of queueing behind another's (`busy_skips`, an advisory lock tried in the
cursor's UPDATE): the pass that holds the lock looks again once it has committed (SequencePass.
locked), and whatever the skipped pass was poked for was committed before that second look.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.db import connection, transaction

from emsweb.redis import pubsub_channel, redis_client
from orders.reports import ReportStatements

from .messages import messages_build, order_messages
from .models import EventKind, StreamCursor, StreamEvent
from .reader import CURSOR_PK, Event, encode_batch, event_of

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = pubsub_channel("emsweb:stream:events")
# pg_try_advisory_xact_lock's key for the sequencer ("emsq"); no other lock of emsweb's is one.
ADVISORY_KEY = 0x656D7371


@dataclass(frozen=True)
class SequencePass:
    events: list[Event]  # numbered by this pass, in seq order
    locked: bool  # it held the cursor: look again after it (see the module docstring)


def sequence_pending(*, limit: int = 1000) -> list[Event]:
    """Number the committed, unnumbered events (at most `limit`), store their messages,
    publish them, and return them in seq order. Waits for a pass in progress elsewhere."""
    return sequence_pass(limit=limit).events


def sequence_pass(
    *, limit: int = 1000, busy_skips: bool = False, check_first: bool = True
) -> SequencePass:
    """sequence_pending, telling whether it held the cursor; with `busy_skips`, on PostgreSQL,
    it numbers nothing rather than wait while another pass holds the cursor. `check_first`:
    look for a pending row before taking the cursor (False when a writer just poked)."""
    if check_first and not _pending_exists():
        return SequencePass([], locked=False)  # between writes: no lock, nothing written
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        done = _pass_in_two_batches(limit=limit, busy_skips=busy_skips)
        if done is not None:
            return done
    return _pass_atomic(limit=limit, busy_skips=busy_skips)


def _pass_atomic(*, limit: int, busy_skips: bool) -> SequencePass:
    with transaction.atomic():
        last_seq = _lock_cursor(busy_skips=busy_skips and connection.vendor == "postgresql")
        if last_seq is None:
            return SequencePass([], locked=False)
        pending = _pending(limit)
        built = messages_build(
            (kind, ref_id) for _, kind, _, ref_id, message in pending if not message
        )
        numbered, events = _number(pending, built, last_seq)
        if numbered:
            _store(numbered, numbered[-1][1])
    events_publish(events)
    return SequencePass(events, locked=True)


def _pass_in_two_batches(*, limit: int, busy_skips: bool) -> SequencePass | None:
    """The pass on PostgreSQL in autocommit (see the module docstring); None when the cursor
    row is missing (the atomic pass makes it)."""
    reports = _pending_reports(limit)
    lock, lock_params = _lock_sql(busy_skips=busy_skips)
    with connection.cursor() as cursor:
        try:
            cursor.execute(
                f"BEGIN; {lock}; {_PENDING_SQL}; {reports.sql}",
                [*lock_params, limit, *reports.params],
            )
            cursor.nextset()  # past BEGIN
            locked = cursor.fetchone()
            if locked is None:
                cursor.execute("ROLLBACK")
                return None if not _cursor_exists() else SequencePass([], locked=False)
            cursor.nextset()
            pending = cursor.fetchall()
            cursor.nextset()
            built = {
                (EventKind.ORDER.value, order_id): message
                for order_id, message in order_messages(reports.read(cursor)).items()
            }
            others = [
                (kind, ref_id)
                for _, kind, _, ref_id, message in pending
                if not message and kind != EventKind.ORDER
            ]
            if others:
                built.update(messages_build(others))
            numbered, events = _number(pending, built, locked[0])
            if numbered:
                sql, params = _store_sql(numbered, numbered[-1][1])
                cursor.execute(f"{sql}; COMMIT", params)
            else:
                cursor.execute("COMMIT")
        except BaseException:
            _rollback(cursor)
            raise
    events_publish(events)
    return SequencePass(events, locked=True)


def _rollback(cursor) -> None:
    try:
        cursor.execute("ROLLBACK")
    except Exception:  # noqa: BLE001 - the connection is gone: its transaction with it
        connection.close()


def _number(pending, built, last_seq):
    """(pk, seq, message) of the pending rows that have a message, numbered after last_seq,
    and their Events; a row whose subject was deleted with no last word recorded is deleted."""
    numbered, dropped, events = [], [], []
    for pk, kind, account_id, ref_id, message in pending:
        message = message or built.get((kind, ref_id))
        if message is None:
            # Its subject was deleted since, with no last word recorded: nothing to tell.
            dropped.append(pk)
            continue
        last_seq += 1
        numbered.append((pk, last_seq, message))
        events.append(event_of(last_seq, kind, account_id, message))
    if dropped:
        # Plain SQL: the ORM's delete opens a transaction of its own, which the batched pass,
        # in a transaction Django does not know of, must not.
        placeholders = ", ".join(["%s"] * len(dropped))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {_table(StreamEvent)} WHERE id IN ({placeholders})", dropped
            )
    return numbered, events


@lru_cache(maxsize=8)
def _pending_reports(limit: int) -> ReportStatements:
    """The reports of the orders of pending rows: a superset of those of the first `limit`
    pending rows (the same LIMIT, counted among order rows only)."""
    pending_orders = (
        StreamEvent.objects.filter(seq__isnull=True, kind=EventKind.ORDER)
        .order_by("id")
        .values("ref_id")[:limit]
    )
    return ReportStatements(pending_orders)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _pending_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_table(StreamEvent)} WHERE seq IS NULL LIMIT 1")
        return cursor.fetchone() is not None


_PENDING_SQL = (
    f"SELECT id, kind, account_id, ref_id, message FROM {StreamEvent._meta.db_table}"
    " WHERE seq IS NULL ORDER BY id LIMIT %s"
)


def _pending(limit: int) -> list[tuple[int, str, int, int, str]]:
    """(id, kind, account_id, ref_id, message) of the unnumbered rows, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(_PENDING_SQL, [limit])
        return cursor.fetchall()


def _lock_sql(*, busy_skips: bool) -> tuple[str, list]:
    """The UPDATE that takes the cursor row and returns its last_seq (its newest version, even
    when it waited for it); with `busy_skips`, it returns nothing while another pass holds the
    sequencer's advisory lock."""
    tried = " AND pg_try_advisory_xact_lock(%s)" if busy_skips else ""
    sql = (
        f"UPDATE {_table(StreamCursor)} SET last_seq = last_seq WHERE id = %s{tried}"
        " RETURNING last_seq"
    )
    return sql, [CURSOR_PK, ADVISORY_KEY] if busy_skips else [CURSOR_PK]


def _cursor_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_table(StreamCursor)} WHERE id = %s", [CURSOR_PK])
        return cursor.fetchone() is not None


def _lock_cursor(*, busy_skips: bool) -> int | None:
    """Take the cursor row (created on first use: a test's flush removes it) and return its
    last_seq, as committed by the pass before this one; None when `busy_skips` and another pass
    holds it."""
    sql, params = _lock_sql(busy_skips=busy_skips)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is not None:
            return row[0]
        if _cursor_exists():
            return None  # busy
        cursor.execute(f"SELECT MAX(seq) FROM {_table(StreamEvent)}")
        newest = cursor.fetchone()[0] or 0
        StreamCursor.objects.bulk_create(
            [StreamCursor(pk=CURSOR_PK, last_seq=newest)], ignore_conflicts=True
        )
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row is not None else None


def _store_sql(numbered: list[tuple[int, int, str]], last_seq: int) -> tuple[str, list]:
    """PostgreSQL's one statement that sets each row's seq and message (pk, seq, message) and
    the cursor's last_seq."""
    ids, seqs, messages = zip(*numbered, strict=True)
    sql = (
        f"WITH numbered AS (UPDATE {_table(StreamEvent)} AS e"
        " SET seq = v.seq, message = v.message"
        " FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v (id, seq, message)"
        f" WHERE e.id = v.id) UPDATE {_table(StreamCursor)} SET last_seq = %s WHERE id = %s"
    )
    return sql, [list(ids), list(seqs), list(messages), last_seq, CURSOR_PK]


def _store(numbered: list[tuple[int, int, str]], last_seq: int) -> None:
    """Set each row's seq and message (pk, seq, message), and the cursor's last_seq."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(*_store_sql(numbered, last_seq))
            return
        cursor.executemany(
            f"UPDATE {_table(StreamEvent)} SET seq = %s, message = %s WHERE id = %s",
            [(seq, message, pk) for pk, seq, message in numbered],
        )
        cursor.execute(
            f"UPDATE {_table(StreamCursor)} SET last_seq = %s WHERE id = %s",
            [last_seq, CURSOR_PK],
        )


def events_publish(events: list[Event]) -> None:
    if not events:
        return
    try:
        redis_client().publish(EVENTS_CHANNEL, encode_batch(events))
    except redis.RedisError:  # subscribers read what they missed from the table
        logger.warning(
            "stream: could not publish seq %s-%s; they are stored",
            events[0].seq,
            events[-1].seq,
            exc_info=True,
        )
