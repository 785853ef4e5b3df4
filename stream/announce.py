"""Events a writer numbers in its own statement, announced by the writer after its commit.

On PostgreSQL the order path's writes (orders.writes) take the stream's cursor in the statement
that writes the order and its outbox row, and give the row its seq there: the row is numbered
when it commits, in commit order, since the cursor's row lock is held until then (and each
such statement commits at once, or is the last before its transaction's COMMIT, so the lock is
held for no longer than that). No pass of the sequencer is then on the event's path: the writer
builds the message from the order's report (read in the same round trip when it can), keeps it
in the row and publishes it.

A writer killed between its commit and keeping the message leaves a numbered row with no
message; whoever reads it first builds it (stream.reader.messages_keep: the first message kept
is the one every reader gets), and the hubs' check each second finds the seq they were not
told of. A publish lost is the hubs' to find in the same way.
"""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.db import connection

from orders.reports import reports_of

from .messages import order_messages
from .models import EventKind, StreamCursor
from .reader import CURSOR_PK, GONE, event_of, messages_keep
from .sequencer import events_publish


class Numbered(NamedTuple):
    """An outbox row of an order that its writer numbered: its id, seq, account and order."""

    row_id: int
    seq: int
    account_id: int
    order_id: int


def writers_number(using=connection) -> bool:
    """Whether writes on `using` number their own events (PostgreSQL, with writers sequencing;
    elsewhere the sequencer's passes number every event)."""
    return settings.EMSWEB_STREAM_WRITERS_SEQUENCE and using.vendor == "postgresql"


def numbering_cte(source: str) -> tuple[str, list]:
    """The CTE `numbered`: the cursor taken and moved on by one when the CTE `source` has a
    row, returning the seq handed out. No row when the cursor row is missing (a flushed
    database): the outbox row is then left for a pass to number, which makes the cursor."""
    table = connection.ops.quote_name(StreamCursor._meta.db_table)
    return (
        f"numbered AS (UPDATE {table} SET last_seq = last_seq + 1"
        f" WHERE id = %s AND EXISTS (SELECT 1 FROM {source}) RETURNING last_seq)",
        [CURSOR_PK],
    )


def orders_announce(announcements: list[tuple[list[Numbered], list[dict] | None]]) -> None:
    """After the commits that numbered these rows: their messages built from the orders'
    reports as each write read them (read now when not given), kept, and published, all in one
    batch (a writer's thread gathers what queued up meanwhile)."""
    messages, unread = {}, []
    for numbered, reports in announcements:
        built = order_messages(reports) if reports is not None else {}
        for event in numbered:
            if event.order_id in built:
                messages[event.row_id] = built[event.order_id]
            else:
                unread.append(event)
    if unread:
        built = order_messages(reports_of([event.order_id for event in unread]))
        messages.update((event.row_id, built.get(event.order_id, GONE)) for event in unread)
    kept = messages_keep(list(messages.items()))
    events = [event for numbered, _ in announcements for event in numbered]
    events_publish(
        [
            event_of(event.seq, EventKind.ORDER, event.account_id, kept.get(event.row_id, GONE))
            for event in sorted(events, key=lambda event: event.seq)
        ]
    )
