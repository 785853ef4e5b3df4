"""Writers and two sequencers at once, on PostgreSQL (where ids become visible out of order):
every event is numbered exactly once, and the numbers are 1..N with no gap and no repeat."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from orders import lifecycle
from orders.models import EventCause
from stream.models import StreamEvent
from stream.reader import events_since, latest_seq
from stream.sequencer import sequence_pending
from venues.base import OrdStatus as S

from .conftest import submit

WRITERS = 4
ORDERS_EACH = 15


def write_orders(account, writer: int) -> int:
    """Submit orders and reject every other one: two events each, or one."""
    written = 0
    try:
        for n in range(ORDERS_EACH):
            order = submit(account, f"w{writer}-{n}")
            written += 1
            if n % 2 and lifecycle.transition(
                order.pk, to=S.REJECTED, cause=EventCause.ROUTE, allowed_from={S.RECEIVED}
            ):
                written += 1
        return written
    finally:
        connection.close()


def sequence_until(done: threading.Event) -> list[int]:
    seqs = []
    try:
        while not done.is_set():
            numbered = [event.seq for event in sequence_pending(limit=7)]
            seqs += numbered
            if not numbered:
                time.sleep(0.002)
        return seqs
    finally:
        connection.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_and_two_sequencers_number_every_event_once_without_gaps(account):
    start = latest_seq()
    done = threading.Event()
    with ThreadPoolExecutor(max_workers=WRITERS + 2) as pool:
        sequencers = [pool.submit(sequence_until, done) for _ in range(2)]
        writers = [pool.submit(write_orders, account, n) for n in range(WRITERS)]
        written = sum(writer.result() for writer in writers)
        done.set()
        seen = [seq for sequencer in sequencers for seq in sequencer.result()]
    seen += [event.seq for event in sequence_pending()]  # what the last passes left

    assert sorted(seen) == list(range(start + 1, start + written + 1))
    assert not StreamEvent.objects.filter(seq__isnull=True).exists()
    assert [event.seq for event in events_since(start, limit=10_000)] == sorted(seen)
    assert latest_seq() == start + written
