"""Writers' side of the event stream: one outbox row per change, in the change's transaction.

The row is the event: once the writer commits, the sequencer will number it whatever happens
to the writer next. The writer's own pass on PostgreSQL (stream.passes), or elsewhere its poke on
POKE_CHANNEL to the hubs, only makes that sooner; the stream server also runs the sequencer on a
timer, so a pass or a poke lost (Redis down, a writer killed after its commit) delays an event and
never loses it. The order path writes its row in its own statement (orders.writes), and on
PostgreSQL numbers it there too when that statement commits at once: its writer then announces
it (stream.announce) and no pass is needed.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from django.db import transaction

from emsweb.redis import pubsub_channel, redis_client

from .announce import Numbered
from .models import StreamEvent
from .passes import after_commit, after_commit_announce, writers_sequence

POKE_CHANNEL = pubsub_channel("emsweb:stream:poke")


def event_record(*, kind: str, account_id: int, ref_id: int, message: str = "") -> None:
    """Add one event to the outbox, inside the writer's transaction; poke the sequencer once it
    commits. `message`: for a subject about to be deleted, its last word (the wire JSON without
    "seq"), since the sequencer will find nothing left to read."""
    events_record(kind=kind, account_id=account_id, ref_ids=[ref_id], messages=[message])


def events_record(
    *, kind: str, account_id: int, ref_ids: Iterable[int], messages: Iterable[str] = ()
) -> None:
    """event_record for several subjects of one account, in one INSERT."""
    messages = list(messages)
    rows = [
        StreamEvent(
            kind=kind,
            account_id=account_id,
            ref_id=ref_id,
            message=messages[n] if n < len(messages) else "",
        )
        for n, ref_id in enumerate(ref_ids)
    ]
    if rows:
        StreamEvent.objects.bulk_create(rows)
        poke_on_commit()


def poke_on_commit() -> None:
    """Wake the sequencer when the current transaction commits (now, outside one); once per
    transaction however many events it adds."""
    connection = transaction.get_connection()
    if any(entry[1] is sequencer_wake for entry in connection.run_on_commit):
        return
    # Robust: a Redis that is down must not fail a write that committed.
    transaction.on_commit(sequencer_wake, robust=True)


def sequencer_wake() -> None:
    """After a commit that wrote events: this writer's own pass, or a poke to the hubs."""
    if writers_sequence():
        after_commit()
    else:
        redis_client().publish(POKE_CHANNEL, b"")


def announce_on_commit(numbered: list[Numbered], reports: list[dict] | None = None) -> None:
    """Once the current transaction commits (now, outside one): the events its writer numbered
    itself announced on the writer's thread (stream.announce), from the orders' `reports` as
    read in that transaction when given."""
    transaction.on_commit(partial(after_commit_announce, numbered, reports), robust=True)
