"""The sequencer: numbers the committed events of the outbox, one pass at a time.

A pass takes the cursor row first (an UPDATE: a row lock on PostgreSQL, the write lock on
SQLite), so two passes, in one process or in two, take turns; the second then sees what the
first numbered, since each statement after the lock reads what is committed by then. It
numbers the committed rows that have no seq in id order, following the cursor's last_seq,
builds their messages from the database as it is now (a few queries per batch), stores both,
moves the cursor on and commits; only then does it publish the batch on EVENTS_CHANNEL. A
publish that fails loses nothing: the events are numbered and stored, and subscribers read
what they missed from the table (stream.reader.events_since).
"""

from __future__ import annotations

import logging

import redis
from django.db import connection, transaction
from django.db.models import Max

from emsweb.redis import redis_client

from .messages import messages_build
from .models import StreamCursor, StreamEvent
from .reader import CURSOR_PK, Event, encode_batch, event_of

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "emsweb:stream:events"


def sequence_pending(*, limit: int = 1000) -> list[Event]:
    """Number the committed, unnumbered events (at most `limit`), store their messages,
    publish them, and return them in seq order."""
    if not StreamEvent.objects.filter(seq__isnull=True).exists():
        return []  # the usual answer between writes: no lock taken, nothing written
    with transaction.atomic():
        last_seq = _lock_cursor()
        pending = list(
            StreamEvent.objects.filter(seq__isnull=True)
            .order_by("id")
            .values_list("id", "kind", "account_id", "ref_id", "message")[:limit]
        )
        if not pending:
            return []
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
        _store(numbered, last_seq)
        if dropped:
            StreamEvent.objects.filter(pk__in=dropped).delete()
    _publish(events)
    return events


def _lock_cursor() -> int:
    """Take the cursor row (created on first use: a test's flush removes it) and return its
    last_seq, as committed by the pass before this one."""
    table = connection.ops.quote_name(StreamCursor._meta.db_table)
    sql = f"UPDATE {table} SET last_seq = last_seq WHERE id = %s RETURNING last_seq"
    with connection.cursor() as cursor:
        cursor.execute(sql, [CURSOR_PK])
        row = cursor.fetchone()
        if row is None:
            newest = StreamEvent.objects.aggregate(newest=Max("seq"))["newest"] or 0
            StreamCursor.objects.bulk_create(
                [StreamCursor(pk=CURSOR_PK, last_seq=newest)], ignore_conflicts=True
            )
            cursor.execute(sql, [CURSOR_PK])
            row = cursor.fetchone()
    return row[0]


def _store(numbered: list[tuple[int, int, str]], last_seq: int) -> None:
    """Set each row's seq and message (pk, seq, message), and the cursor's last_seq."""
    table = connection.ops.quote_name(StreamEvent._meta.db_table)
    with connection.cursor() as cursor:
        if numbered and connection.vendor == "postgresql":
            ids, seqs, messages = zip(*numbered, strict=True)
            cursor.execute(
                f"UPDATE {table} AS e SET seq = v.seq, message = v.message"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS v (id, seq, message)"
                " WHERE e.id = v.id",
                [list(ids), list(seqs), list(messages)],
            )
        elif numbered:
            cursor.executemany(
                f"UPDATE {table} SET seq = %s, message = %s WHERE id = %s",
                [(seq, message, pk) for pk, seq, message in numbered],
            )
    StreamCursor.objects.filter(pk=CURSOR_PK).update(last_seq=last_seq)


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
