"""What a FIX session is sent from the event stream: the execution reports of the orders its key
may follow, from where the session stands (FixSessionState), in seq order.

A trading key's session follows the orders placed with that key; a read-only key's (a drop
copy) every order its user may see, whatever door placed them. Each order event is compared
with the order's previous event in the stream (translate.changes), so what a report adds (a
fill, a cancel) is known without any state of the gateway's own: a restarted gateway makes the
same reports from the same events. The position moves on only after the reports were handed to
QuickFIX, which stores them for resends: a gateway killed between the two sends those reports
again after its restart, with the same ExecIDs, rather than missing any.
"""

from __future__ import annotations

import json
from decimal import Decimal

from accounts.models import ApiKey
from orders.models import Order
from orders.selectors import orders_visible
from stream.models import EventKind, StreamEvent
from stream.reader import GONE, latest_seq, rows_messages

from .models import FixSessionState

READ_LIMIT = 500


def session_position(*, api_key: ApiKey, begin_string: str) -> int:
    """The session's place in the stream; a session new to the gateway starts at its end."""
    state, _ = FixSessionState.objects.get_or_create(
        api_key=api_key, begin_string=begin_string, defaults={"stream_seq": latest_seq()}
    )
    return state.stream_seq


def session_position_save(*, api_key: ApiKey, begin_string: str, seq: int) -> None:
    FixSessionState.objects.filter(api_key=api_key, begin_string=begin_string).update(
        stream_seq=seq
    )


def followed_orders(api_key: ApiKey):
    if api_key.read_only:
        return orders_visible(user=api_key.user)
    return Order.objects.filter(created_with_key=api_key)


def order_events(*, api_key: ApiKey, since: int, limit: int = READ_LIMIT):
    """(seq, order id, report) of the key's order events after `since`, oldest first, and the
    seq the session may move to (past events of other orders too)."""
    rows = _order_rows(StreamEvent.objects.filter(seq__gt=since).order_by("seq"), limit)
    if not rows:
        return [], since
    followed = set(
        followed_orders(api_key)
        .filter(pk__in={ref_id for _, ref_id, _ in rows})
        .values_list("pk", flat=True)
    )
    events = [
        (seq, ref_id, report_read(message))
        for seq, ref_id, message in rows
        if ref_id in followed and message != GONE
    ]
    return events, rows[-1][0]


def _order_rows(events, limit: int) -> list[tuple[int, int, str]]:
    """(seq, order id, message) of the first `limit` order events of `events`, each message
    built if its writer did not keep it (stream.reader.rows_messages)."""
    rows = list(
        events.filter(kind=EventKind.ORDER).values_list(
            "id", "seq", "kind", "account_id", "ref_id", "message"
        )[:limit]
    )
    messages = rows_messages(rows)
    return [(seq, ref_id, messages[pk]) for pk, seq, _, _, ref_id, _ in rows]


def previous_report(*, order_id: int, before: int) -> dict | None:
    """The order's report as its last event before seq `before` told it; None if none."""
    events = StreamEvent.objects.filter(ref_id=order_id, seq__lt=before).order_by("-seq")
    rows = _order_rows(events, 1)
    return report_read(rows[0][2]) if rows and rows[0][2] != GONE else None


def report_read(message: str) -> dict:
    return json.loads(message, parse_float=Decimal)
