"""Readers' side of the event stream: numbered events, read from the table or off Redis.

An event's message is stored without "seq"; it is put first here, as text, so that a message
is never parsed and serialized again on its way to a client.

A row numbered by its writer (stream.announce) has no message until the writer keeps it; a
reader that meets such a row first (the writer is slow, or was killed after its commit) builds
the message itself and keeps it the same way, so that whoever keeps first decides what every
reader of that seq gets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Min

from .messages import messages_build
from .models import StreamCursor, StreamEvent

CURSOR_PK = 1
# The message of an event whose subject was deleted before anyone built its message (an
# order's rows are never deleted while the desk runs: a bench's or a test's reset).
GONE = "{}"


@dataclass(frozen=True)
class Event:
    """One numbered event: `message` is its wire JSON with "seq" first, ready to send."""

    seq: int
    kind: str
    account_id: int
    message: str


def event_of(seq: int, kind: str, account_id: int, message: str) -> Event:
    """The Event of a row's values (its message as stored, without "seq")."""
    # In the style of emsweb.api.wire.dumps (", " and ": "), as if it had written "seq" too.
    rest = message[1:] if message == "{}" else ", " + message[1:]
    return Event(seq, kind, account_id, f'{{"seq": {seq}{rest}')


def events_since(seq: int, *, limit: int = 1000) -> list[Event]:
    """The events after `seq`, oldest first, at most `limit` of them."""
    rows = list(
        StreamEvent.objects.filter(seq__gt=seq)
        .order_by("seq")
        .values_list("id", "seq", "kind", "account_id", "ref_id", "message")[:limit]
    )
    messages = rows_messages(rows)
    return [event_of(seq, kind, account, messages[pk]) for pk, seq, kind, account, *_ in rows]


def rows_messages(rows: Iterable[tuple]) -> dict[int, str]:
    """Row id -> message of numbered rows given as (id, seq, kind, account_id, ref_id, message):
    a message not kept yet is built and kept (see the module docstring)."""
    messages, blank = {}, []
    for pk, _, kind, _, ref_id, message in rows:
        if message:
            messages[pk] = message
        else:
            blank.append((pk, kind, ref_id))
    if blank:
        built = messages_build((kind, ref_id) for _, kind, ref_id in blank)
        kept = messages_keep([(pk, built.get((kind, ref_id), GONE)) for pk, kind, ref_id in blank])
        # A row removed meanwhile (retention) has nothing kept: it is told as gone.
        messages.update((pk, kept.get(pk, GONE)) for pk, _, _ in blank)
    return messages


def messages_keep(messages: list[tuple[int, str]]) -> dict[int, str]:
    """Keep each (row id, message) in a row that has none yet; row id -> the message the row
    keeps (this one, or the one kept first; a row gone is left out)."""
    table = connection.ops.quote_name(StreamEvent._meta.db_table)
    kept, lost = dict(messages), []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(messages) > 1:
            ids, texts = zip(*messages, strict=True)
            cursor.execute(
                f"UPDATE {table} AS e SET message = v.message"
                " FROM unnest(%s::bigint[], %s::text[]) AS v (id, message)"
                " WHERE e.id = v.id AND e.message = '' RETURNING e.id",
                [list(ids), list(texts)],
            )
            lost = list(set(ids) - {pk for (pk,) in cursor.fetchall()})
        else:
            # One alone costs less as a plain UPDATE than joined to an array (bench/README.md).
            update = f"UPDATE {table} SET message = %s WHERE id = %s AND message = ''"
            lazily = connection.vendor == "postgresql" and not connection.in_atomic_block
            if lazily:
                # Its own implicit transaction, not waiting for the WAL's flush: a keep lost in
                # a crash of the database leaves the row without a message, which its first
                # reader builds again.
                update = f"SET LOCAL synchronous_commit TO off; {update}"
            for pk, message in messages:
                cursor.execute(update, [message, pk])
                if lazily:
                    cursor.nextset()
                if cursor.rowcount != 1:
                    lost.append(pk)
        if lost:
            # Kept first by someone else (or the row is gone): what the row keeps.
            placeholders = ", ".join(["%s"] * len(lost))
            cursor.execute(f"SELECT id, message FROM {table} WHERE id IN ({placeholders})", lost)
            found = dict(cursor.fetchall())
            for pk in lost:
                if pk in found:
                    kept[pk] = found[pk]
                else:
                    del kept[pk]
    return kept


def latest_seq() -> int:
    """The last seq handed out; 0 before the first."""
    return StreamCursor.objects.filter(pk=CURSOR_PK).values_list("last_seq", flat=True).first() or 0


def oldest_seq() -> int | None:
    """The oldest seq still kept (retention removes older ones); None when none is."""
    return StreamEvent.objects.filter(seq__isnull=False).aggregate(oldest=Min("seq"))["oldest"]


# What EVENTS_CHANNEL carries: one line per event, "seq kind account_id message" separated by
# tabs. A JSON text never holds a raw tab or newline (inside strings they are escaped), so the
# message, sent as is, needs no quoting of its own.
def encode_batch(events: list[Event]) -> bytes:
    return "\n".join(
        f"{event.seq}\t{event.kind}\t{event.account_id}\t{event.message}" for event in events
    ).encode()


def decode_batch(data: bytes) -> list[Event]:
    """The events of one EVENTS_CHANNEL message, in the order they were numbered."""
    events = []
    for line in data.decode().split("\n"):
        if line:
            seq, kind, account_id, message = line.split("\t", 3)
            events.append(Event(int(seq), kind, int(account_id), message))
    return events
