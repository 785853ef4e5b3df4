"""Readers' side of the event stream: numbered events, read from the table or off Redis.

An event's message is stored without "seq"; it is put first here, as text, so that a message
is never parsed and serialized again on its way to a client.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Min

from .models import StreamCursor, StreamEvent

CURSOR_PK = 1


@dataclass(frozen=True)
class Event:
    """One numbered event: `message` is its wire JSON with "seq" first, ready to send."""

    seq: int
    kind: str
    account_id: int
    message: str


def event_of(seq: int, kind: str, account_id: int, message: str) -> Event:
    """The Event of a row's values (its message as stored, without "seq")."""
    rest = message[1:] if message == "{}" else "," + message[1:]
    return Event(seq, kind, account_id, f'{{"seq":{seq}{rest}')


def events_since(seq: int, *, limit: int = 1000) -> list[Event]:
    """The events after `seq`, oldest first, at most `limit` of them."""
    rows = (
        StreamEvent.objects.filter(seq__gt=seq)
        .order_by("seq")
        .values_list("seq", "kind", "account_id", "message")[:limit]
    )
    return [event_of(*row) for row in rows]


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
