"""The sequencer: numbers the committed events of the outbox, one pass at a time.

A pass takes the cursor row first (an UPDATE: a row lock on PostgreSQL, the write lock on
SQLite), so two passes, in one process or in two, take turns; the second then sees what the
first numbered, since each statement after the lock reads what is committed by then. It
numbers the committed rows that have no seq in id order, following the cursor's last_seq,
builds their messages from the database as it is now (a few queries per batch), stores both,
moves the cursor on and commits; only then does it publish the batch on EVENTS_CHANNEL. A
publish that fails loses nothing: the events are numbered and stored, and subscribers read
what they missed from the table (stream.reader.events_since).

A pass sits on the path of every event from its commit to its clients, so its own statements
are plain SQL (an ORM query costs more to compile than to run here), five round trips in all
on PostgreSQL. Every web process's hub runs a pass when a writer pokes, so on PostgreSQL a hub's
pass may skip instead of queueing behind another's (`busy_skips`, an advisory lock tried in the
cursor's UPDATE): the pass that holds the lock looks again once it has committed (SequencePass.
locked), and whatever the skipped pass was poked for was committed before that second look.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis
from django.db import connection, transaction

from emsweb.redis import redis_client

from .messages import messages_build
from .models import StreamCursor, StreamEvent
from .reader import CURSOR_PK, Event, encode_batch, event_of

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "emsweb:stream:events"
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


def sequence_pass(*, limit: int = 1000, busy_skips: bool = False) -> SequencePass:
    """sequence_pending, telling whether it held the cursor; with `busy_skips`, on PostgreSQL,
    it numbers nothing rather than wait while another pass holds the cursor."""
    if not _pending_exists():
        return SequencePass([], locked=False)  # between writes: no lock, nothing written
    with transaction.atomic():
        last_seq = _lock_cursor(busy_skips=busy_skips and connection.vendor == "postgresql")
        if last_seq is None:
            return SequencePass([], locked=False)
        pending = _pending(limit)
        built = messages_build(
            (kind, ref_id) for _, kind, _, ref_id, message in pending if not message
        )
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
        if numbered:
            _store(numbered, last_seq)
        if dropped:
            StreamEvent.objects.filter(pk__in=dropped).delete()
    _publish(events)
    return SequencePass(events, locked=True)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _pending_exists() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_table(StreamEvent)} WHERE seq IS NULL LIMIT 1")
        return cursor.fetchone() is not None


def _pending(limit: int) -> list[tuple[int, str, int, int, str]]:
    """(id, kind, account_id, ref_id, message) of the unnumbered rows, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, kind, account_id, ref_id, message FROM {_table(StreamEvent)}"
            " WHERE seq IS NULL ORDER BY id LIMIT %s",
            [limit],
        )
        return cursor.fetchall()


def _lock_cursor(*, busy_skips: bool) -> int | None:
    """Take the cursor row (created on first use: a test's flush removes it) and return its
    last_seq, as committed by the pass before this one; None when `busy_skips` and another pass
    holds it. The UPDATE returns the row's newest version even when it waited for it."""
    table = _table(StreamCursor)
    tried = " AND pg_try_advisory_xact_lock(%s)" if busy_skips else ""
    sql = f"UPDATE {table} SET last_seq = last_seq WHERE id = %s{tried} RETURNING last_seq"
    params = [CURSOR_PK, ADVISORY_KEY] if busy_skips else [CURSOR_PK]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is not None:
            return row[0]
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s", [CURSOR_PK])
        if cursor.fetchone() is not None:
            return None  # busy
        cursor.execute(f"SELECT MAX(seq) FROM {_table(StreamEvent)}")
        newest = cursor.fetchone()[0] or 0
        StreamCursor.objects.bulk_create(
            [StreamCursor(pk=CURSOR_PK, last_seq=newest)], ignore_conflicts=True
        )
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row is not None else None


def _store(numbered: list[tuple[int, int, str]], last_seq: int) -> None:
    """Set each row's seq and message (pk, seq, message), and the cursor's last_seq: one
    statement on PostgreSQL."""
    events, cursor_table = _table(StreamEvent), _table(StreamCursor)
    move_cursor = f"UPDATE {cursor_table} SET last_seq = %s WHERE id = %s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, seqs, messages = zip(*numbered, strict=True)
            cursor.execute(
                f"WITH numbered AS (UPDATE {events} AS e SET seq = v.seq, message = v.message"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v (id, seq, message)"
                f" WHERE e.id = v.id) {move_cursor}",
                [list(ids), list(seqs), list(messages), last_seq, CURSOR_PK],
            )
        else:
            cursor.executemany(
                f"UPDATE {events} SET seq = %s, message = %s WHERE id = %s",
                [(seq, message, pk) for pk, seq, message in numbered],
            )
            cursor.execute(move_cursor, [last_seq, CURSOR_PK])


def _publish(events: list[Event]) -> None:
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
